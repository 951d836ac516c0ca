#!/usr/bin/env python
"""Server time and query counts of the parts search and the stock lookup of one part, and the duration of the
nightly reorder sweep, on the parts bench data set (bench/generate_parts.py).

Runs the real views and API endpoints through Django's test ``Client`` (middleware, auth, templates; no
network), logged in (``force_login``) as ``bench-parts``, a parts clerk at 2 of the 5 stores:

    part search    GET /parts/?q=...          (htmx partial, as the live search box asks for it)   p95 < 30 ms
                   GET /api/parts/?q=...                                                          p95 < 30 ms
    stock lookup   GET /parts/<id>/           (part page: stock per store, last movements...)      p95 < 30 ms
                   GET /api/parts/<id>/stock                                                       p95 < 30 ms
    reorder sweep  aftersales.parts.purchasing.reorder_sweep() over all parts and stores           < 10 s

    .venv/bin/python bench/bench_parts.py -n 300 [--explain] [--database-url ...]

The sweep is timed twice: the first night (all open requisitions deleted first, so it creates one per stock item
below its minimum) and a second run straight after (nothing new to create).
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
sys.path.insert(0, str(ROOT / "bench"))

from bench_search_360 import Case, explain, pct, run_case, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_parts_bench"
TARGET_MS = 30.0
SWEEP_TARGET_S = 10.0


def sample_queries(n: int, rng: random.Random) -> dict[str, list[str]]:
    """Search terms as a parts clerk types them, drawn from the catalogue."""
    from aftersales.parts.models import Part, PartAlias

    parts = list(Part.objects.order_by("?").values_list("number", "oem_number", "name_zh", "name_en")[: n * 2])
    aliases = list(PartAlias.objects.order_by("?").values_list("number", flat=True)[:n])
    words_zh = ["机油滤清器", "刹车片", "火花塞", "减震器", "空调滤清器", "蓄电池", "正时皮带", "轮毂轴承", "雨刮片", "大灯"]
    words_en = ["oil filter", "brake pad", "spark plug", "shock absorber", "cabin air", "battery", "timing belt", "wiper"]
    out: dict[str, list[str]] = {
        "part number, exact": [p[0] for p in parts[:n]],
        "part number, first 5": [p[0][:5] for p in parts[:n]],
        "OEM number fragment (6)": [p[1][2:8] for p in parts[n: 2 * n]],
        "aftermarket number, exact": aliases,
        "Chinese name word": [rng.choice(words_zh) for _ in range(n)],
        "Chinese make + model": [p[2].split("（")[1].split(" ")[0] for p in parts[:n] if "（" in p[2]],
        "English words": [rng.choice(words_en) for _ in range(n)],
    }
    return out


def sample_parts(user, n: int, rng: random.Random) -> list[int]:
    """Half busy parts (many movements at the user's stores), half any part."""
    from aftersales.common.scoping import visible_store_ids
    from aftersales.parts.models import Part, StockItem

    stores = list(visible_store_ids(user))
    busy = list(
        StockItem.objects.filter(store_id__in=stores, on_hand__gt=0).order_by("-last_movement_at").values_list("part_id", flat=True)[: n * 3]
    )
    rng.shuffle(busy)
    anyp = list(Part.objects.order_by("?").values_list("id", flat=True)[:n])
    ids = busy[: n // 2] + anyp[: n - n // 2]
    rng.shuffle(ids)
    return ids


def time_sweep(label: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.parts.purchasing import reorder_sweep

    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        result = reorder_sweep()
        secs = time.perf_counter() - t
    print(f"reorder sweep, {label}: {secs:.2f} s, {len(ctx.captured_queries)} queries, {result}")
    return {"case": f"reorder sweep: {label}", "seconds": round(secs, 2), "queries": len(ctx.captured_queries),
            "result": result, "target_s": SWEEP_TARGET_S, "ok": secs < SWEEP_TARGET_S,
            "slowest_sql": max(ctx.captured_queries, key=lambda q: float(q["time"]))["sql"][:2000] if ctx.captured_queries else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("PARTS_BENCH_URL", DEFAULT_URL))
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1123)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--explain-all", action="store_true")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "parts.json"))
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.test import Client

    from aftersales.staff.models import User

    rng = random.Random(args.seed)
    user = User.objects.get(username="bench-parts")
    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(user)
    api = Client()
    api.force_login(user)
    label = "parts clerk (2 stores)"
    cases: list[Case] = []
    for kind, qs in sample_queries(args.n, rng).items():
        reqs = [(q, q) for q in qs]
        cases.append(run_case(Case(label, f"search page: {kind}", TARGET_MS), reqs,
                              lambda q: client.get("/parts/", {"q": q}).status_code))
        cases.append(run_case(Case(label, f"search API: {kind}", TARGET_MS), reqs,
                              lambda q: api.get("/api/parts/", {"q": q}).status_code))
    ids = [(str(i), str(i)) for i in sample_parts(user, args.n, rng)]
    cases.append(run_case(Case(label, "stock lookup: part page", TARGET_MS), ids,
                          lambda i: api.get(f"/parts/{i}/").status_code))
    cases.append(run_case(Case(label, "stock lookup: API /stock", TARGET_MS), ids,
                          lambda i: api.get(f"/api/parts/{i}/stock").status_code))

    rows = [c.row() for c in cases]
    print(f"\n{'case':<44} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}  result")
    for r in rows:
        qr = f"{r['queries_min']}" if r["queries_min"] == r["queries_max"] else f"{r['queries_min']}-{r['queries_max']}"
        print(f"{r['case']:<44} {r['n']:>4} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {qr:>8}  "
              f"{'ok' if r['ok'] else 'MISSED'}{'' if set(r['statuses']) <= {200} else ' statuses=' + str(r['statuses'])}")
    sweeps = []
    if not args.no_sweep:
        from aftersales.parts.models import PurchaseRequisition

        deleted = PurchaseRequisition.objects.all().delete()[0]
        print(f"\n(deleted {deleted} requisitions left by an earlier run)")
        sweeps = [time_sweep("first night"), time_sweep("again (nothing new)")]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows,
                                           "sweeps": sweeps}, indent=1, ensure_ascii=False))
    print(f"\nresults written to {args.json}")
    if args.explain or args.explain_all:
        for c in cases:
            if args.explain_all or pct(c.times, 95) >= c.target:
                explain(c)


if __name__ == "__main__":
    main()
