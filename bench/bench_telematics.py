#!/usr/bin/env python
"""Telematics ingestion through Mosquitto: sustained rate with 2 ingest processes and p95 publish → alert.

Sets up (``--reset``) a database with one store, ``--vehicles`` owned cars each with a device, starts two
``aftersales telematics-ingest`` processes (shared subscription) and publishes signed QoS-1 messages at ``--rate``
messages/s for ``--seconds`` (each car reports in turn, as 10,000 cars every 30 s would: 333/s). ``--alert-share``
of the messages carry P0524 (low oil pressure: the rule alerts on the first reading) for a car without an open alert,
so alerts, their owner message and advisor task are written in the same transactions as under real load.

It reports: messages published and stored, the publisher's achieved rate, the ingesters' sustained rate (stored
readings over the span of their receive times), p50/p95/max lag from publish to the committed reading, and
p50/p95/max from publish to the alert (alert opened_at − the publish time of the message that opened it), and
writes bench/results/telematics.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales_bench_telematics \
        .venv/bin/python bench/bench_telematics.py --reset --vehicles 10000 --rate 333 --seconds 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench_telematics"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _ms(value: float) -> int | None:
    return None if value != value else round(value)  # NaN (nothing measured) → null


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (/proc/<pid>/stat fields 14 and 15); None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids() -> list[int]:
    """The PostgreSQL backends of the ingesters (every client backend on the bench database but the bench's own)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'")
        return [row[0] for row in cur.fetchall()]


def reset_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=333.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--alert-share", type=float, default=0.01)
    parser.add_argument("--ingesters", type=int, default=2)
    parser.add_argument("--warm", action="store_true",
                        help="steady state: every device fed the vehicle's mileage just now (a running fleet feeds it "
                             "hourly, 1 message in 120); without it every car's first message of the run feeds it")
    parser.add_argument("--broker-port", type=int, default=18830,
                        help="the bench starts its own Mosquitto here (max_queued_messages unlimited); 0: use 1883 as it is")
    args = parser.parse_args()

    data_dir = ROOT / "bench" / "data" / "telematics"
    data_dir.mkdir(parents=True, exist_ok=True)
    root = f"bench-{uuid.uuid4().hex[:8]}/telematics"
    os.environ.update({"DATABASE_URL": args.database_url, "AFTERSALES_DATA_DIR": str(data_dir),
                       "DJANGO_SETTINGS_MODULE": "aftersales.settings", "TELEMATICS_MQTT_TOPIC_ROOT": root,
                       "AFTERSALES_SECRET_KEY": os.environ.get("AFTERSALES_SECRET_KEY", "bench-telematics-secret")})
    broker = None
    if args.broker_port:
        # Mosquitto's default max_queued_messages (1000 per session) drops QoS-1 messages beyond that when the
        # ingesters fall behind: production needs it raised; the bench runs a broker configured so
        conf = data_dir / "mosquitto.conf"
        conf.write_text(f"listener {args.broker_port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
                        "max_inflight_messages 100\npersistence false\n")
        broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        time.sleep(1)
        os.environ["TELEMATICS_MQTT_PORT"] = str(args.broker_port)
    if args.reset:
        reset_database(args.database_url)
        subprocess.run([sys.executable, "-m", "aftersales.cli", "migrate", "--noinput", "-v", "0"], check=True)

    import django

    django.setup()
    from django.utils import timezone

    from aftersales.customers.models import Customer, CustomerStore
    from aftersales.stores.models import DealerGroup, Store
    from aftersales.telematics import credentials
    from aftersales.telematics.models import Alert, Device, Reading
    from aftersales.telematics.mqtt import Publisher
    from aftersales.vehicles.models import Vehicle

    group, _ = DealerGroup.objects.get_or_create(name="Bench Telematics")
    store, _ = Store.objects.get_or_create(group=group, code="bt", defaults={"name": "Bench store"})
    have = Device.objects.filter(store=store).count()
    if have < args.vehicles:
        n = args.vehicles - have
        print(f"creating {n} owners, cars and devices …", flush=True)
        customers = Customer.objects.bulk_create([
            Customer(group=group, home_store=store, name=f"车主{have + i}", mobile=f"+86139{have + i:08d}",
                     mobile_digits=f"139{have + i:08d}") for i in range(n)], batch_size=2000)
        CustomerStore.objects.bulk_create([CustomerStore(customer=c, store=store) for c in customers], batch_size=2000)
        cars = Vehicle.objects.bulk_create([
            Vehicle(group=group, owner=c, vin=f"LBENCH{have + i:011d}"[:17], plate=f"粤T{have + i:05d}"[:10], make="BYD", model="秦")
            for i, c in enumerate(customers)], batch_size=2000)
        salt = credentials.new_salt()
        Device.objects.bulk_create([
            Device(store=store, vehicle=car, device_id=f"BT-{car.pk}", key_salt=salt,
                   key_fingerprint=credentials.fingerprint(credentials.device_key(f"BT-{car.pk}", salt)))
            for car in cars], batch_size=2000)
    fleet = [(d.device_id, credentials.device_key(d.device_id, d.key_salt), (d.last_seq or 0))
             for d in Device.objects.filter(store=store).order_by("id")[: args.vehicles]]
    Alert.objects.filter(store=store, status="open").update(status="closed", closed_at=timezone.now())
    if args.warm:
        Device.objects.filter(store=store).update(mileage_fed_at=timezone.now())
    readings_before = Reading.objects.count()
    first_new_reading = (Reading.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    first_new_alert = (Alert.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

    logs = [open(data_dir / f"ingest-{i}.log", "ab") for i in range(args.ingesters)]  # noqa: SIM115
    procs = [subprocess.Popen([sys.executable, "-m", "aftersales.cli", "telematics-ingest", "--client-id",
                               f"bench-{root.split('/')[0]}-{i}"], stdout=logs[i], stderr=subprocess.STDOUT)
             for i in range(args.ingesters)]
    # wait until every ingester has connected and subscribed (a fixed sleep lost the whole stream on a busy machine:
    # new persistent sessions get nothing published before their subscription)
    ready_by = time.monotonic() + 300
    while time.monotonic() < ready_by:
        logs_now = [(data_dir / f"ingest-{i}.log").read_text(errors="replace") for i in range(args.ingesters)]
        if all(f"{root.split('/')[0]}-{i} connected" in text for i, text in enumerate(logs_now)):
            break
        time.sleep(0.5)
    time.sleep(1)  # the SUBSCRIBE follows the CONNACK
    # CPU cost per message: the ingest processes' CPU from here (Django set up, subscribed) to the drain, and that of
    # their PostgreSQL backends (sampled every second; a backend's CPU counts from its start, i.e. its first query)
    ingest_cpu_start = [cpu_seconds(p.pid) or 0.0 for p in procs]
    backend_cpu: dict[int, float] = {}
    # publish → alert as the staff would see it: a watcher polls the alerts every 0.1 s and notes when each one is
    # first visible (committed); the time is compared with the publish time of the message that opened it
    import threading

    from django.db import connection as _connection

    alert_published: dict[tuple[str, int], float] = {}
    alert_seen: dict[int, float] = {}
    watching = threading.Event()

    def watch_alerts() -> None:
        try:
            while not watching.is_set():
                for pk in Alert.objects.filter(id__gte=first_new_alert).exclude(id__in=list(alert_seen)).values_list("id", flat=True):
                    alert_seen[pk] = time.time()
                watching.wait(0.1)
        finally:
            _connection.close()

    watcher = threading.Thread(target=watch_alerts, daemon=True)
    watcher.start()
    publisher = Publisher(client_id=f"bench-pub-{uuid.uuid4().hex[:6]}")
    total = int(args.rate * args.seconds)
    alert_every = max(1, round(1 / args.alert_share)) if args.alert_share > 0 else 0
    seqs = {device_id: seq for device_id, _key, seq in fleet}
    started = time.monotonic()
    infos = []
    for n in range(total):
        device_id, key, _seq = fleet[n % len(fleet)]
        seqs[device_id] += 1
        with_alert = bool(alert_every) and n % alert_every == alert_every // 2
        body = {"v": 1, "device": device_id, "seq": seqs[device_id], "time": timezone.now().isoformat(),
                "odometer_km": 10_000 + seqs[device_id], "battery_v": 12.6, "ignition": True, "speed_kmh": 50,
                "dtc": ["P0524"] if with_alert else []}
        if with_alert:
            alert_published[(device_id, seqs[device_id])] = time.time()
        infos.append(publisher.publish(device_id, json.dumps(credentials.sign_message(key, body)).encode(), wait=False))
        ahead = (n + 1) / args.rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    for info in infos:
        info.wait_for_publish(timeout=60)
    published_in = time.monotonic() - started
    deadline = time.monotonic() + max(120.0, args.seconds * 10)
    def sample_backends() -> None:
        for pid in backend_pids():
            value = cpu_seconds(pid)
            if value is not None:
                backend_cpu[pid] = value

    while time.monotonic() < deadline and Reading.objects.count() - readings_before < total:
        sample_backends()
        time.sleep(1)
    drained_in = time.monotonic() - started
    sample_backends()
    time.sleep(0.5)
    watching.set()
    watcher.join(timeout=10)
    ingest_cpu = sum((cpu_seconds(p.pid) or 0.0) - start for p, start in zip(procs, ingest_cpu_start, strict=True))
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
    publisher.close()
    if broker is not None:
        broker.terminate()
        broker.wait(timeout=10)

    rows = list(Reading.objects.filter(id__gte=first_new_reading).values_list("recorded_at", "received_at"))
    distinct = len(set(Reading.objects.filter(id__gte=first_new_reading).values_list("device_id", "seq")))
    lags = [(rec - sent).total_seconds() * 1000 for sent, rec in rows]
    received = sorted(rec for _s, rec in rows)
    span = (received[-1] - received[0]).total_seconds() if len(received) > 1 else float("nan")
    from aftersales.telematics.models import AlertEvent

    # publish → alert: the alert's opened_at against the publish time of the message that opened it (its seq is in
    # the opening event's reason). Not against last_reading_at, which moves on when the car reports again.
    alert_ms, visible_ms = [], []
    for alert_id, device_ref, reason, opened in AlertEvent.objects.filter(
            alert_id__gte=first_new_alert, from_state="").values_list("alert_id", "alert__device__device_id", "reason",
                                                                      "alert__opened_at"):
        sent = alert_published.get((device_ref, int(reason.rsplit(" ", 1)[-1]))) if reason.startswith("reading ") else None
        if sent is None:
            continue
        alert_ms.append(opened.timestamp() * 1000 - sent * 1000)
        if alert_id in alert_seen:
            visible_ms.append((alert_seen[alert_id] - sent) * 1000)
    result = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "database": args.database_url.rsplit("/", 1)[0].split("@")[-1],
        "vehicles": len(fleet), "target_rate": args.rate, "seconds": args.seconds, "ingesters": args.ingesters, "warm": args.warm,
        "published": total, "stored": len(rows), "written_twice": len(rows) - distinct, "publish_rate": round(total / published_in, 1),
        "ingest_rate": round(len(rows) / span, 1) if span == span and span > 0 else None,
        "drained_after_s": round(drained_in, 1),
        "lag_ms": {"p50": _ms(pct(lags, 50)), "p95": _ms(pct(lags, 95)), "max": round(max(lags) if lags else 0)},
        "alerts": len(alert_ms),
        "publish_to_alert_ms": {"p50": _ms(pct(alert_ms, 50)), "p95": _ms(pct(alert_ms, 95)),
                                "max": round(max(alert_ms) if alert_ms else 0)},
        "ingest_cpu_s": round(ingest_cpu, 1),
        "messages_per_ingest_cpu_s": round(len(rows) / ingest_cpu, 1) if ingest_cpu > 0 else None,
        "postgres_backend_cpu_s": round(sum(backend_cpu.values()), 1),
        "messages_per_cpu_s_ingest_and_postgres": round(len(rows) / (ingest_cpu + sum(backend_cpu.values())), 1)
        if ingest_cpu + sum(backend_cpu.values()) > 0 else None,
        "publish_to_alert_visible_ms": {"n": len(visible_ms), "p50": _ms(pct(visible_ms, 50)),
                                        "p95": _ms(pct(visible_ms, 95)), "max": round(max(visible_ms) if visible_ms else 0)},
        "broker": f"own mosquitto :{args.broker_port} (max_queued_messages 0)" if args.broker_port else "127.0.0.1:1883 as configured",
        "cores": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    out = ROOT / "bench" / "results" / "telematics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
