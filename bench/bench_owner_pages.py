#!/usr/bin/env python
"""Server time and query counts of every page of the owner app (/app/), on the bench data set (issue 17: "Every
page measured: server p95 < 150 ms with queries constant in the number of cars and orders, on the bench data set").

Runs the real views through Django's test ``Client`` (middleware, the owner session, templates; no network), signed
in as owners of two kinds, and for every page prints p50 / p95 / max server time and the SQL queries per request:

    heaviest   the customers with the most repair orders in the data set (their cars and orders span years)
    sampled    customers drawn at random among those with at least one visit

Pages: home, a car (the owner's car with the most visits), an order (the latest), the order's live part (htmx poll),
inbox, points, book, feedback, privacy, shop, shop orders, pickup and rescue request forms. The order's PDF documents
are timed too (reported, with no target: a PDF is a download, not a page).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales_bench .venv/bin/python bench/bench_owner_pages.py
    options: -n 200 (requests per page), --owners 40 (owners per kind), --explain (EXPLAIN ANALYZE the slowest
    request of every page that misses its target)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search_360 import DEFAULT_URL, ROOT, Case, explain, pct, run_case, setup_django

TARGET_MS = 150.0


def owners(kind: str, n: int, rng: random.Random) -> list[int]:
    from django.db import connection

    with connection.cursor() as cur:
        if kind == "heaviest":
            cur.execute("""SELECT o.customer_id FROM workshop_repairorder o JOIN customers_customer c ON c.id = o.customer_id
                           WHERE c.anonymised_at IS NULL GROUP BY o.customer_id ORDER BY count(*) DESC, o.customer_id LIMIT %s""", [n])
            return [r[0] for r in cur.fetchall()]
        cur.execute("SELECT max(id) FROM workshop_repairorder")
        max_id = cur.fetchone()[0]
        cur.execute("""SELECT DISTINCT o.customer_id FROM workshop_repairorder o JOIN customers_customer c ON c.id = o.customer_id
                       WHERE o.id = ANY(%s) AND c.anonymised_at IS NULL""", [[rng.randrange(1, max_id + 1) for _ in range(n * 3)]])
        found = [r[0] for r in cur.fetchall()]
    rng.shuffle(found)
    return found[:n]


def owner_client(customer_id: int):
    """A browser signed in as this owner: the session the SMS-code sign-in leaves (portal.session.sign_in)."""
    from django.test import Client

    from aftersales.portal.models import OwnerAccount
    from aftersales.portal.session import EPOCH_KEY, SESSION_KEY

    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
    session = client.session
    session[SESSION_KEY] = customer_id
    session[EPOCH_KEY] = OwnerAccount.objects.filter(customer_id=customer_id).values_list("epoch", flat=True).first() or 0
    session.save()
    from django.conf import settings

    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def owner_urls(customer_id: int) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""SELECT o.vehicle_id FROM workshop_repairorder o JOIN vehicles_vehicle v ON v.id = o.vehicle_id
                       WHERE o.customer_id = %s AND v.owner_id = %s GROUP BY o.vehicle_id ORDER BY count(*) DESC LIMIT 1""",
                    [customer_id, customer_id])
        car = cur.fetchone()
        cur.execute("""SELECT o.id FROM workshop_repairorder o JOIN vehicles_vehicle v ON v.id = o.vehicle_id
                       WHERE o.customer_id = %s AND v.owner_id = %s ORDER BY o.opened_at DESC LIMIT 1""",
                    [customer_id, customer_id])
        order = cur.fetchone()
    urls = {"home": "/app/", "inbox": "/app/inbox/", "points": "/app/points/", "book": "/app/book/",
            "feedback": "/app/feedback/", "privacy": "/app/privacy/", "shop": "/app/shop/",
            "shop orders": "/app/shop/orders/", "pickup": "/app/pickup/", "rescue": "/app/rescue/"}  # fmt: skip
    if car:
        urls["car"] = f"/app/cars/{car[0]}/"
    if order:
        urls["order"] = f"/app/orders/{order[0]}/"
        urls["order (htmx poll)"] = f"/app/orders/{order[0]}/#hx"
        urls["repair list PDF"] = f"/app/orders/{order[0]}/documents/repair_list.pdf"
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("-n", type=int, default=200, help="requests per page and kind of owner (default 200)")
    parser.add_argument("--owners", type=int, default=40, help="owners of each kind (default 40)")
    parser.add_argument("--seed", type=int, default=1207)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slow pages' slowest request")
    parser.add_argument("--json", default="", help="where to write the results (default bench/results/owner_pages.json)")
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.db import connection

    rng = random.Random(args.seed)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM customers_customer")
        customers = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM workshop_repairorder")
        orders = cur.fetchone()[0]
    print(f"data set: {customers:,} customers, {orders:,} repair orders")

    rows = []
    slow: list[Case] = []
    for kind in ("heaviest", "sampled"):
        ids = owners(kind, args.owners, rng)
        clients = {pk: owner_client(pk) for pk in ids}
        urls = {pk: owner_urls(pk) for pk in ids}
        with connection.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT vehicle_id) FROM workshop_repairorder WHERE customer_id = ANY(%s)", [ids])
            n_orders, n_cars = cur.fetchone()
        print(f"\n{kind}: {len(ids)} owners, {n_orders / len(ids):.1f} orders and {n_cars / len(ids):.1f} cars each on average")
        pages = sorted({page for u in urls.values() for page in u})
        for page in pages:
            requests = [(str(pk), str(pk)) for pk in ids if page in urls[pk]]
            requests = [requests[i % len(requests)] for i in range(args.n)]

            def call(pk: str, page: str = page, urls: dict = urls, clients: dict = clients) -> int:
                url = urls[int(pk)][page]
                headers = {}
                if url.endswith("#hx"):
                    url, headers = url[:-3], {"HTTP_HX_REQUEST": "true"}
                return clients[int(pk)].get(url, **headers).status_code

            target = float("inf") if page.endswith("PDF") else TARGET_MS
            case = run_case(Case(kind, page, target), requests, call)
            row = case.row()
            if page.endswith("PDF"):
                row["ok"] = None
            rows.append(row)
            flag = "" if row["ok"] is None else ("ok" if row["ok"] else "MISSED")
            print(f"  {page:<18} p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}  max {row['max_ms']:7.1f} ms"
                  f"  queries {row['queries_min']}-{row['queries_max']}  {row['statuses']}  {flag}")
            if row["ok"] is False:
                slow.append(case)
    p95s = [r["p95_ms"] for r in rows if r["ok"] is not None]
    summary = {"customers": customers, "orders": orders, "target_p95_ms": TARGET_MS,
               "worst_page_p95_ms": max(p95s), "pages_missed": [f"{r['user']}/{r['case']}" for r in rows if r["ok"] is False],
               "at": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}  # fmt: skip
    out = Path(args.json or ROOT / "bench" / "results" / "owner_pages.json")
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    print(f"\nworst page p95 {max(p95s):.1f} ms (target < {TARGET_MS:.0f}); missed: {summary['pages_missed'] or 'none'}; "
          f"median of p95s {pct(p95s, 50):.1f} ms -> {out}")
    if args.explain:
        for case in slow:
            explain(case)


if __name__ == "__main__":
    main()
