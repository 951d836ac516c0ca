#!/usr/bin/env python
"""Nightly tier recompute (SPEC §10) on the bench data set, beside the same computation done in pandas.

    .venv/bin/python bench/bench_tiers.py [--database-url ...] [--as-of YYYY-MM-DD] [--runs 2]

1. SQL, set-based (``aftersales.engagement.services.tier_recompute_all``: CREATE TEMP TABLE … AS SELECT, then
   INSERT tier changes / UPDATE / INSERT current tiers): the first night (empty tier table: every customer is
   inserted and gets a TierChange row) and the following nights (every row updated, changes only recorded).
   Target: under 60 s for 1,000,000 customers.
2. pandas, as an analyst would: read repair orders, invoices, stores, imported visits, customers and vehicles into
   data frames, convert each visit to its store's local date, aggregate R/F/M per customer and apply the rules with
   ``numpy.select``. Timed as load + compute (the analyst has to load the data too) and compute only.
3. Checks the two agree (every customer's tier and F), prints the figures and the ratio pandas / SQL, and writes
   bench/results/tiers.json. The automatic-tags recompute (nightly too) is timed as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_search_360 import setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"
TARGET_S = 60.0


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def pandas_tiers(as_of: dt.date) -> tuple[float, float, object]:
    """The analyst's version: (load seconds, compute seconds, DataFrame customer_id → tier, f)."""
    import numpy as np
    import pandas as pd
    from django.db import connection

    from aftersales.engagement.models import TierSettings
    from aftersales.engagement.rules import WINDOW_MONTHS, Thresholds, months_before

    raw = connection.connection  # the psycopg connection Django opened

    def read(sql: str) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas prefers SQLAlchemy; a DBAPI connection works
            return pd.read_sql(sql, raw)

    started = time.perf_counter()
    orders = read("SELECT id, customer_id, store_id, status, delivered_at, opened_at FROM workshop_repairorder")
    invoices = read("SELECT order_id, status AS invoice_status, paid_amount FROM billing_invoice")
    stores = read("SELECT id AS store_id, time_zone FROM stores_store")
    imported = read("SELECT customer_id, visit_date, amount_paid, amount_refunded FROM engagement_importedvisit")
    customers = read("SELECT id AS customer_id, home_store_id FROM customers_customer")
    vehicles = read("SELECT owner_id AS customer_id, purchase_date FROM vehicles_vehicle WHERE owner_id IS NOT NULL")
    settings_rows = {s.store_id: Thresholds.of(s) for s in TierSettings.objects.all()}
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    visits = orders.merge(invoices, left_on="id", right_on="order_id")
    visits = visits[visits.status.isin(["delivered", "closed"]) & (visits.invoice_status == "paid")
                    & (visits.paid_amount.astype(float) > 0)]
    visits = visits.merge(stores, on="store_id")
    at = pd.to_datetime(visits.delivered_at.fillna(visits.opened_at), utc=True)
    local = pd.Series(pd.NaT, index=visits.index, dtype="datetime64[ns]")
    for zone, idx in visits.groupby("time_zone").groups.items():  # local date in each store's zone
        local.loc[idx] = at.loc[idx].dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    paid = pd.DataFrame({"customer_id": visits.customer_id, "day": local, "amount": visits.paid_amount.astype(float)})
    if len(imported):
        net = imported.amount_paid.astype(float) - imported.amount_refunded.astype(float)
        extra = pd.DataFrame({"customer_id": imported.customer_id, "day": pd.to_datetime(imported.visit_date),
                              "amount": net})
        paid = pd.concat([paid, extra[extra.amount > 0]], ignore_index=True)
    as_of_ts = pd.Timestamp(as_of)
    paid = paid[paid.day <= as_of_ts]
    window = pd.Timestamp(months_before(as_of, WINDOW_MONTHS))
    paid["in_window"] = (paid.day > window).astype(int)
    paid["m"] = paid.amount.where(paid.day > window, 0.0)
    agg = paid.groupby("customer_id").agg(
        last_visit=("day", "max"), visits_total=("day", "size"), f=("in_window", "sum"), m=("m", "sum"),
    )
    df = customers.merge(agg, left_on="customer_id", right_index=True, how="left")
    df["f"] = df.f.fillna(0).astype(int)
    df["m"] = df.m.fillna(0.0).round(2)
    df["visits_total"] = df.visits_total.fillna(0).astype(int)
    # per-store cut-off dates (the defaults unless a store has its own settings)
    home = df.home_store_id.fillna(0).astype(int)
    cut = {}
    for key in ("a_since", "c_since", "d_cut", "a_f", "a_m"):
        cut[key] = {}
    for store_id in home.unique():
        t = settings_rows.get(store_id, Thresholds())
        cut["a_since"][store_id] = pd.Timestamp(months_before(as_of, t.a_recency_months))
        cut["c_since"][store_id] = pd.Timestamp(months_before(as_of, t.c_new_months))
        cut["d_cut"][store_id] = pd.Timestamp(months_before(as_of, t.d_lapsed_months))
        cut["a_f"][store_id] = t.a_min_visits
        cut["a_m"][store_id] = float(t.a_min_amount)
    d_cut = home.map(cut["d_cut"])
    bought = vehicles.assign(purchase_date=pd.to_datetime(vehicles.purchase_date)).merge(
        customers[["customer_id", "home_store_id"]], on="customer_id")
    bought["d_cut"] = bought.home_store_id.fillna(0).astype(int).map(cut["d_cut"])
    bought_early = set(bought.loc[bought.purchase_date <= bought.d_cut, "customer_id"])
    last = df.last_visit
    no_visit = last.isna()
    conditions = [
        ~no_visit & (last <= d_cut),
        no_visit & df.customer_id.isin(bought_early),
        ~no_visit & (last >= home.map(cut["a_since"])) & (df.f >= home.map(cut["a_f"])) & (df.m >= home.map(cut["a_m"])),
        no_visit,
        (df.visits_total == 1) & (last >= home.map(cut["c_since"])),
    ]
    df["tier"] = np.select(conditions, ["D", "D", "A", "C", "C"], default="B")
    compute_s = time.perf_counter() - started
    return load_s, compute_s, df[["customer_id", "tier", "f"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
    parser.add_argument("--runs", type=int, default=2, help="SQL recompute runs (the first may start empty)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "tiers.json"))
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.db import connection
    from django.utils import timezone

    from aftersales.customers.models import Customer
    from aftersales.engagement import tiersql
    from aftersales.engagement.models import CustomerTier
    from aftersales.engagement.services import tier_recompute_all
    from aftersales.engagement.tags import recompute_auto_tags

    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else timezone.localdate()
    customers = Customer.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM workshop_repairorder")
        orders = cursor.fetchone()[0]
    print(f"data set: {customers:,} customers, {orders:,} repair orders; as of {as_of}")
    sql_runs = []
    for _run in range(args.runs):
        empty = not CustomerTier.objects.exists()
        seconds, counts = timed(tier_recompute_all, as_of=as_of)
        sql_runs.append({"seconds": round(seconds, 2), "empty_table_before": empty, **counts})
        label = "first night (empty tier table)" if empty else "following night"
        ok = "ok" if seconds < TARGET_S else "MISSED"
        print(f"SQL set-based recompute, {label}: {seconds:.1f} s {counts} (target < {TARGET_S:.0f} s: {ok})")
    select_s, rows = timed(tiersql.compute_rows, as_of)
    print(f"SQL SELECT only (all tiers, fetched into Python): {select_s:.1f} s")
    load_s, compute_s, frame = pandas_tiers(as_of)
    print(f"pandas: load {load_s:.1f} s + compute {compute_s:.1f} s = {load_s + compute_s:.1f} s")
    sql_tiers = {r["customer_id"]: (r["tier"], int(r["f"])) for r in rows}
    pd_tiers = {int(c): (t, int(f)) for c, t, f in frame.itertuples(index=False)}
    mismatches = [c for c in sql_tiers if sql_tiers[c] != pd_tiers.get(c)]
    print(f"agreement: {len(sql_tiers) - len(mismatches):,} of {len(sql_tiers):,} customers identical"
          + (f"; first mismatches: {[(c, sql_tiers[c], pd_tiers.get(c)) for c in mismatches[:5]]}" if mismatches else ""))
    tags_s, tags_n = timed(recompute_auto_tags, today=as_of)
    print(f"automatic tags (8 tags, set-based): {tags_s:.1f} s, {tags_n:,} assignments")
    nightly = sql_runs[-1]["seconds"]
    ratio_total = (load_s + compute_s) / nightly
    ratio_compute = compute_s / nightly
    print(f"ratio pandas / SQL: {ratio_total:.1f}x (load + compute), {ratio_compute:.1f}x (compute only)")
    counts = {t: sum(1 for v in sql_tiers.values() if v[0] == t) for t in "ABCD"}
    print(f"tiers: {counts}")
    result = {
        "as_of": as_of.isoformat(), "customers": customers, "repair_orders": orders, "sql_runs": sql_runs,
        "sql_select_seconds": round(select_s, 2), "pandas_load_seconds": round(load_s, 2),
        "pandas_compute_seconds": round(compute_s, 2), "ratio_pandas_total_over_sql": round(ratio_total, 2),
        "ratio_pandas_compute_over_sql": round(ratio_compute, 2), "mismatches": len(mismatches),
        "auto_tags_seconds": round(tags_s, 2), "auto_tag_assignments": tags_n, "tiers": counts,
        "target_seconds": TARGET_S, "measured_at": timezone.now().isoformat(timespec="seconds"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
