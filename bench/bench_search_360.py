#!/usr/bin/env python
"""Server time and query counts of the search box and the customer 360 page, on the bench data set.

Runs the real views through Django's test ``Client`` (middleware, auth, templates included; no network), logged
in (``force_login``) as a service advisor who belongs to three stores and as a group admin. For every case it
prints p50 / p95 / max server time, the number of SQL queries per request (``CaptureQueriesContext``) and the
target it is compared with:

    search box  GET /search/?q=...        (htmx partial, as the live search box asks for it)   p95 < 30 ms
    customer 360 GET /customers/<id>/                                                           p95 < 80 ms

Search queries are realistic: last 4 digits of a mobile, a plate fragment (B1234), a 2-character name prefix,
a 3-character full name, a 6-character VIN fragment (the last 6), each drawn from customers the user can see.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales_bench .venv/bin/python bench/bench_search_360.py
    options: -n 300 (requests per case), --selectors (also time the selectors alone), --explain (EXPLAIN ANALYZE
    the queries of the slowest request of each case that misses its target, or of every case with --explain-all),
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"

SEARCH_TARGET_MS = 30.0
C360_TARGET_MS = 80.0


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))  # nearest rank
    return s[k]


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def bench_users():
    from django.contrib.auth.models import Group

    from aftersales.staff.models import StoreMembership, User
    from aftersales.staff.roles import Role
    from aftersales.stores.models import DealerGroup, Store

    group = DealerGroup.objects.order_by("id").first()
    if group is None:
        sys.exit("no data: run bench/generate.py first")
    advisor = User.objects.filter(username="bench-advisor").first()
    if advisor is None:  # a data set made by something else than generate.py
        advisor = User.objects.create(username="bench-advisor", dealer_group=group, display_name="基准顾问")
        advisor.groups.add(Group.objects.get(name=Role.SERVICE_ADVISOR))
        for i, store in enumerate(Store.objects.filter(group=group).order_by("id")[:3]):
            StoreMembership.objects.create(user=advisor, store=store, is_primary=i == 0)
    admin = User.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = User.objects.create(username="bench-admin", dealer_group=group, display_name="基准管理员")
        admin.groups.add(Group.objects.get(name=Role.GROUP_ADMIN))
    return advisor, admin


def sample_queries(user, n: int, rng: random.Random) -> dict[str, list[str]]:
    """n search strings of each kind, taken from customers (and their vehicles) the user can see."""
    from django.db import connection

    from aftersales.common.scoping import spans_group, visible_store_ids

    store_ids = visible_store_ids(user)
    scoped = "TRUE" if spans_group(user) else (
        "EXISTS (SELECT 1 FROM customers_customerstore l WHERE l.customer_id = c.id AND l.store_id = ANY(%(stores)s))"
    )
    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM customers_customer")
        max_id = cur.fetchone()[0]
        ids = [rng.randrange(1, max_id + 1) for _ in range(n * 40)]
        cur.execute(
            f"""SELECT c.name, c.mobile_digits, v.plate, v.vin FROM customers_customer c
                JOIN vehicles_vehicle v ON v.owner_id = c.id
                WHERE c.id = ANY(%(ids)s) AND {scoped}""",
            {"ids": ids, "stores": store_ids},
        )
        rows = cur.fetchall()
    rng.shuffle(rows)
    out: dict[str, list[str]] = {"mobile last 4": [], "plate B1234": [], "name prefix 2": [], "full name 3": [],
                                 "VIN last 6": []}  # fmt: skip
    for name, digits, plate, vin in rows:
        out["mobile last 4"].append(digits[-4:])
        if len(plate) >= 6:
            out["plate B1234"].append(plate[1:6])
        out["name prefix 2"].append(name[:2])
        if len(name) == 3:
            out["full name 3"].append(name)
        out["VIN last 6"].append(vin[-6:])
    return {k: v[:n] for k, v in out.items()}


def sample_360_ids(user, n: int, rng: random.Random) -> list[int]:
    """Customers with at least one visit at one of the user's stores."""
    from django.db import connection

    from aftersales.common.scoping import visible_store_ids

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM workshop_repairorder")
        max_id = cur.fetchone()[0]
        ids = [rng.randrange(1, max_id + 1) for _ in range(n * 30)]
        cur.execute(
            "SELECT DISTINCT customer_id FROM workshop_repairorder WHERE id = ANY(%s) AND store_id = ANY(%s)",
            [ids, visible_store_ids(user)],
        )
        found = [r[0] for r in cur.fetchall()]
    rng.shuffle(found)
    return found[:n]


class Case:
    def __init__(self, user_label: str, name: str, target: float) -> None:
        self.user_label, self.name, self.target = user_label, name, target
        self.times: list[float] = []
        self.queries: list[int] = []
        self.statuses: dict[int, int] = {}
        self.slowest: tuple[float, list[str], str] = (0.0, [], "")

    def row(self) -> dict:
        p95 = pct(self.times, 95)
        return {
            "user": self.user_label, "case": self.name, "n": len(self.times),
            "p50_ms": round(pct(self.times, 50), 1), "p95_ms": round(p95, 1), "max_ms": round(max(self.times), 1),
            "queries_min": min(self.queries), "queries_max": max(self.queries), "target_p95_ms": self.target,
            "ok": p95 < self.target, "statuses": self.statuses,
        }  # fmt: skip


def run_case(case: Case, requests: list[tuple[str, str]], call) -> Case:
    """requests: (label, argument); call(argument) performs one request and returns an HTTP status."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _label, arg in requests[:10]:  # warm-up (not counted)
        call(arg)
    for label, arg in requests:
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            status = call(arg)
            ms = (time.perf_counter() - t) * 1000
        case.times.append(ms)
        case.queries.append(len(ctx.captured_queries))
        case.statuses[status] = case.statuses.get(status, 0) + 1
        if ms > case.slowest[0]:
            case.slowest = (ms, [q["sql"] for q in ctx.captured_queries], label)
    return case


def explain(case: Case) -> None:
    from django.db import connection

    ms, sqls, label = case.slowest
    print(f"\n=== EXPLAIN ANALYZE: {case.user_label} / {case.name}: slowest request {ms:.1f} ms ({label}) ===")
    timed = []
    with connection.cursor() as cur:
        for sql in sqls:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [r[0] for r in cur.fetchall()]
            exec_ms = next((float(line.split(":")[1].split()[0]) for line in plan if line.startswith("Execution Time")), 0)
            timed.append((exec_ms, sql, plan))
    timed.sort(key=lambda t: -t[0])
    for exec_ms, sql, plan in timed[:3]:
        print(f"\n--- {exec_ms:.2f} ms ---\n{sql}\n" + "\n".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("-n", type=int, default=300, help="requests per case (default 300)")
    parser.add_argument("--seed", type=int, default=1122)
    parser.add_argument("--selectors", action="store_true", help="also time the selectors without the view")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE slow cases' slowest request")
    parser.add_argument("--explain-all", action="store_true", help="EXPLAIN ANALYZE every case's slowest request")
    parser.add_argument("--json", default="", help="where to write the results (default bench/results/...)")
    args = parser.parse_args()
    setup_django(args.database_url)
    if not args.json:
        args.json = str(ROOT / "bench" / "results" / "search_360.json")

    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from aftersales.customers.selectors import customer_search
    from aftersales.web.customer360 import customer_360

    rng = random.Random(args.seed)
    advisor, admin = bench_users()
    try:
        search_url = reverse("web:search")
        reverse("web:customer_detail", args=[1])
        have_views = True
    except NoReverseMatch:
        have_views = False
        print("views not found: measuring the selectors only")
    cases: list[Case] = []
    for label, user in (("advisor (3 stores)", advisor), ("group admin", admin)):
        client = Client(HTTP_HX_REQUEST="true")
        client.force_login(user)
        queries = sample_queries(user, args.n, rng)
        ids = sample_360_ids(user, args.n, rng)

        def fresh_user(u=user):
            # like a new request: no permission or store-scope cache carried over from the previous call
            for attr in ("_visible_store_ids", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
                u.__dict__.pop(attr, None)
            return u

        for kind, qs in queries.items():
            reqs = [(q, q) for q in qs]
            if have_views:
                cases.append(run_case(Case(label, f"search: {kind}", SEARCH_TARGET_MS), reqs,
                                      lambda q, c=client: c.get(search_url, {"q": q}).status_code))
            if args.selectors or not have_views:
                cases.append(run_case(Case(label, f"customer_search(): {kind}", SEARCH_TARGET_MS), reqs,
                                      lambda q: (len(customer_search(fresh_user(), q)) and 200) or 204))
        reqs = [(str(i), str(i)) for i in ids]
        if have_views:
            cases.append(run_case(Case(label, "customer 360 page", C360_TARGET_MS), reqs,
                                  lambda i, c=client: c.get(f"/customers/{i}/").status_code))
        if args.selectors or not have_views:
            cases.append(run_case(Case(label, "customer_360()", C360_TARGET_MS), reqs,
                                  lambda i: customer_360(fresh_user(), int(i)) and 200))

    rows = [c.row() for c in cases]
    print(f"\n{'user':<20} {'case':<34} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} "
          f"{'target p95':>11}  result")
    for r in rows:
        qrange = f"{r['queries_min']}" if r["queries_min"] == r["queries_max"] else f"{r['queries_min']}-{r['queries_max']}"
        print(f"{r['user']:<20} {r['case']:<34} {r['n']:>4} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
              f"{r['max_ms']:>8.1f} {qrange:>8} {'< ' + str(int(r['target_p95_ms'])) + ' ms':>11}  "
              f"{'ok' if r['ok'] else 'MISSED'}{'' if set(r['statuses']) <= {200, 204} else ' statuses=' + str(r['statuses'])}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=1,
                                          ensure_ascii=False))
    print(f"\nresults written to {args.json}")
    if args.explain or args.explain_all:
        for c in cases:
            if args.explain_all or pct(c.times, 95) >= c.target:
                explain(c)


if __name__ == "__main__":
    main()
