#!/usr/bin/env python
"""Outbox throughput: 100,000 due webhook messages, two Celery workers, a fake provider; lost and duplicated.

    .venv/bin/python bench/bench_outbox.py            # defaults below; about a few minutes
    options: -n 100000, --workers 2, --batch-size / --send-threads (MESSAGING_BATCH_SIZE / MESSAGING_SEND_THREADS
    for the workers), --database-url, --broker, --keep (do not drop the database afterwards)

What it does:
1. drops and recreates the database (``aftersales_outbox_bench``) and runs ``migrate``;
2. starts the fake provider, a separate process (``ThreadingHTTPServer``) that answers 200 to every POST and counts
   the Idempotency-Keys it has seen (GET /stats);
3. inserts one dealer group, one store (webhook channel to the fake provider, with a signing secret), 1,000
   customers and ``-n`` due messages (``repair.progress`` rendered text, ``bulk_create``);
4. starts ``--workers`` Celery worker processes (``--pool solo``, Redis broker) and, once they are ready, sends
   the ``aftersales.messaging.dispatch`` task (one per worker, then one more whenever the queue is empty and
   messages are still due: what beat's 10-second sweep would do, sooner);
5. waits until nothing is pending or sending, then reports from the database and the fake provider.

Figures: messages/second = messages / (last sent_at − first dispatch task sent); due → sent p50/p95 where
"due" is next_attempt_at at creation (the rows are created due, just before the workers start); lost = messages
not ``sent``; duplicated = Idempotency-Keys the provider saw more than once. Targets: ≥ 1,000 messages/second,
0 lost, 0 duplicated. Writes bench/results/outbox.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_outbox_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"
DATA_DIR = ROOT / "bench" / "data" / "outbox"
TARGET_RATE = 1000.0


# ---- the fake provider (runs as its own process: ``bench_outbox.py --fake-provider PORT``) ----------------------------
def serve_fake_provider(port: int) -> None:
    keys: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key", "")
            with lock:
                keys[key] += 1
            self._answer(b'{"ok":true}')

        def do_GET(self) -> None:
            with lock:
                stats = {"raw": sum(keys.values()), "distinct": len(keys),
                         "duplicated": sum(1 for n in keys.values() if n > 1)}
            self._answer(json.dumps(stats).encode())

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 1024  # listen() backlog; the default 5 drops connections under 16+ senders

    server = Server(("127.0.0.1", port), Handler)
    server.serve_forever()


# ---- helpers ---------------------------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))  # nearest rank
    return s[k]


def reset_database(url: str) -> None:
    import psycopg

    base, _sep, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    base, _sep, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def provider_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def make_rows(n: int, webhook_url: str) -> None:
    from django.utils import timezone

    from aftersales.customers.models import Customer, CustomerStore
    from aftersales.messaging.choices import Channel, MessageStatus, Purpose
    from aftersales.messaging.kinds import KINDS
    from aftersales.messaging.models import ChannelSettings, Message
    from aftersales.messaging.rendering import fill
    from aftersales.stores.models import DealerGroup, Store

    group = DealerGroup.objects.create(name="Bench Motors")
    store = Store.objects.create(group=group, code="gz1", name="广州天河店")
    ChannelSettings.objects.create(store=store, webhook_url=webhook_url, webhook_secret="bench-secret")
    customers = Customer.objects.bulk_create(
        Customer(group=group, home_store=store, name=f"客户{i:04d}", mobile=f"+86138{i:08d}", mobile_digits=f"138{i:08d}")
        for i in range(1000)
    )
    CustomerStore.objects.bulk_create(CustomerStore(customer=c, store=store) for c in customers)
    kind = KINDS["repair.progress"]
    now = timezone.now()
    batch: list[Message] = []
    for i in range(n):
        c = customers[i % len(customers)]
        variables = {**kind.variables, "customer_name": c.name, "greeting": c.name, "plate": f"粤B{i % 100000:05d}"}
        batch.append(Message(
            group=group, store=store, customer=c, kind=kind.code, channel=Channel.WEBHOOK, purpose=Purpose.SERVICE,
            language="zh-hans", recipient=webhook_url, subject=str(kind.label), body=fill(kind.default_text["zh-hans"], variables),
            variables=variables, dedup_key=f"bench:{i}", status=MessageStatus.PENDING, not_before=now,
            next_attempt_at=now, created_at=now,
        ))
        if len(batch) == 5000:
            Message.objects.bulk_create(batch)
            batch = []
    if batch:
        Message.objects.bulk_create(batch)


def profile_in_process(stats_url: str) -> None:
    import cProfile
    import pstats

    from aftersales.messaging import dispatch
    from aftersales.messaging.models import Message

    timings: dict[str, float] = Counter()
    original = {name: getattr(dispatch, name) for name in ("claim", "send_batch", "record")}

    def timed(name):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return original[name](*a, **kw)
            finally:
                timings[name] += time.perf_counter() - t0
        return wrapper

    for name in original:
        setattr(dispatch, name, timed(name))
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    dispatch.dispatch_due(time_budget=20)
    profiler.disable()
    wall = time.perf_counter() - t0
    done = Message.objects.filter(status="sent").count()
    print(f"in-process: {done:,} sent in {wall:.1f} s = {done / wall:,.0f}/s; " +
          ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()), provider_stats(stats_url))
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fake-provider", type=int, help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--send-threads", type=int, default=None)
    parser.add_argument("--database-url", default=os.environ.get("OUTBOX_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--label", default="")
    parser.add_argument("--profile", action="store_true", help="no workers: run dispatch_due in this process under cProfile")
    args = parser.parse_args()
    if args.fake_provider:
        serve_fake_provider(args.fake_provider)
        return

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ, "DATABASE_URL": args.database_url, "AFTERSALES_DATA_DIR": str(DATA_DIR),
        "CELERY_BROKER_URL": args.broker, "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "AFTERSALES_LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if args.batch_size:
        env["MESSAGING_BATCH_SIZE"] = str(args.batch_size)
    if args.send_threads:
        env["MESSAGING_SEND_THREADS"] = str(args.send_threads)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "AFTERSALES_DATA_DIR", "CELERY_BROKER_URL",
                                            "DJANGO_SETTINGS_MODULE", "AFTERSALES_LOG_LEVEL")})
    for k in ("MESSAGING_BATCH_SIZE", "MESSAGING_SEND_THREADS"):
        if k in env:
            os.environ[k] = env[k]

    t = time.monotonic()
    reset_database(args.database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database reset + migrate: {time.monotonic() - t:.1f} s")

    port = free_port()
    provider = subprocess.Popen([sys.executable, __file__, "--fake-provider", str(port)])
    webhook_url = f"http://127.0.0.1:{port}/hook"
    stats_url = f"http://127.0.0.1:{port}/stats"
    for _ in range(100):
        try:
            provider_stats(stats_url)
            break
        except OSError:
            time.sleep(0.1)

    t = time.monotonic()
    make_rows(args.n, webhook_url)
    print(f"inserted {args.n:,} due messages: {time.monotonic() - t:.1f} s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE messaging_message")
    connection.close()

    if args.profile:
        profile_in_process(stats_url)
        provider.terminate()
        return
    import redis
    from celery import Celery

    redis.Redis.from_url(args.broker).flushdb()
    queue = redis.Redis.from_url(args.broker)
    sender = Celery("bench-sender", broker=args.broker, set_as_current=False)
    logs = DATA_DIR / "logs"
    logs.mkdir(exist_ok=True)
    workers: list[subprocess.Popen] = []
    log_files = []
    for i in range(args.workers):
        log = logs / f"worker{i + 1}.log"
        log.write_text("")
        log_files.append(log)
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "aftersales", "worker", "--pool", "solo", "--loglevel", "INFO",
             "-n", f"bench{i + 1}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        ))
    from aftersales.messaging.choices import MessageStatus
    from aftersales.messaging.models import Message

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(" ready." in f.read_text() for f in log_files):
            for w in workers:
                if w.poll() is not None:
                    raise SystemExit("a worker exited:\n" + "\n".join(f.read_text() for f in log_files))
            time.sleep(0.2)
        start_wall = time.time()
        for _ in workers:
            sender.send_task("aftersales.messaging.dispatch")
        deadline = time.monotonic() + args.timeout
        last_print = 0.0
        open_states = [MessageStatus.PENDING, MessageStatus.SENDING]
        while time.monotonic() < deadline:
            remaining = Message.objects.filter(status__in=open_states).count()
            connection.close()
            if remaining == 0:
                break
            if queue.llen("celery") == 0:
                sender.send_task("aftersales.messaging.dispatch")
            if time.monotonic() - last_print > 5:
                print(f"  {time.time() - start_wall:6.1f} s  open {remaining:,}")
                last_print = time.monotonic()
            time.sleep(0.25)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()

    start = dt.datetime.fromtimestamp(start_wall, tz=dt.UTC)
    rows = list(Message.objects.values_list("status", "not_before", "sent_at"))
    sent = [(nb, s) for status, nb, s in rows if status == MessageStatus.SENT]
    last_sent = max(s for _nb, s in sent)
    elapsed = (last_sent - start).total_seconds()
    due_to_sent = [(s - nb).total_seconds() for nb, s in sent]
    start_to_sent = [(s - start).total_seconds() for _nb, s in sent]
    stats = provider_stats(stats_url)
    provider.terminate()
    provider.wait(timeout=10)
    by_status = dict(Counter(status for status, _nb, _s in rows))
    lost = len(rows) - len(sent)
    rate = len(sent) / elapsed if elapsed > 0 else float("nan")
    result = {
        "date": dt.date.today().isoformat(), "label": args.label,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "messages": args.n, "workers": args.workers, "batch_size": int(env.get("MESSAGING_BATCH_SIZE", settings.MESSAGING_BATCH_SIZE)),
        "send_threads": int(env.get("MESSAGING_SEND_THREADS", settings.MESSAGING_SEND_THREADS)),
        "elapsed_s": round(elapsed, 2), "messages_per_s": round(rate, 1),
        "due_to_sent_p50_s": round(pct(due_to_sent, 50), 2), "due_to_sent_p95_s": round(pct(due_to_sent, 95), 2),
        "start_to_sent_p95_s": round(pct(start_to_sent, 95), 2),
        "lost": lost, "duplicated": stats["duplicated"], "provider_raw_posts": stats["raw"],
        "provider_distinct_keys": stats["distinct"], "statuses": by_status,
    }
    ok = {"rate": rate >= TARGET_RATE, "lost": lost == 0, "dup": stats["duplicated"] == 0}
    print()
    print("| figure | measured | target | |")
    print("|---|---:|---:|---|")
    print(f"| messages/second (2 workers) | {rate:,.0f} | ≥ {TARGET_RATE:,.0f} | {'ok' if ok['rate'] else 'MISSED'} |")
    print(f"| elapsed (first task → last sent) | {elapsed:.1f} s | | |")
    print(f"| due → sent p50 / p95 | {result['due_to_sent_p50_s']} s / {result['due_to_sent_p95_s']} s | | |")
    print(f"| lost (not sent) | {lost} | 0 | {'ok' if ok['lost'] else 'MISSED'} |")
    print(f"| duplicated (keys seen > 1) | {stats['duplicated']} | 0 | {'ok' if ok['dup'] else 'MISSED'} |")
    print(f"| provider POSTs / distinct keys | {stats['raw']:,} / {stats['distinct']:,} | | |")
    print(f"statuses: {by_status}")
    out = ROOT / "bench" / "results" / "outbox.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url)


if __name__ == "__main__":
    main()
