#!/usr/bin/env python
"""The complete lifecycle of one repair order, driven over HTTP by concurrent clients, against PostgreSQL; beside
it the floor: the same database writes done directly with SQL in one transaction per order.

    check in → add job → send estimate → approve → start → finish (dispatch, clock, done, QC) → ready
    → invoice → pay → deliver

Every step is called over HTTP (gunicorn, bearer token, keep-alive); "ready" is a fallback done in-process and
marked ``direct`` (the last QC check moves the order to ready itself, so it normally never runs). Prints orders/second, p50/p95 per call, the floor's
orders/second and the ratio (target: HTTP ≥ 40 % of the floor).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/as_billing_bench .venv/bin/python bench/bench_lifecycle.py --reset

Options: --clients (4), --orders per client (25), --workers/--threads of gunicorn (2/4), --port (8791).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/as_billing_bench"
TARGET_RATIO = 0.40
LINES = [
    {"kind": "labour", "description": "保养工时 / labour", "quantity": "1.5", "unit_price": "280.00"},
    {"kind": "part", "description": "机油 / engine oil", "quantity": "4.5", "unit_price": "98.00", "code": "OIL-5W30"},
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
def build(n_cars: int, clients: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import transaction

    from aftersales.appointments.models import Bay
    from aftersales.common.tests.factories import CustomerFactory, VehicleFactory, make_staff
    from aftersales.inspections.services import install_default_checklists
    from aftersales.staff.roles import Role
    from aftersales.staff.services import token_create
    from aftersales.stores.models import DealerGroup, Store

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        group = DealerGroup.objects.create(name="生命周期基准集团")
        store = Store.objects.create(group=group, code="life", name="生命周期基准店")
        install_default_checklists(store=store)
        manager = make_staff(Role.STORE_MANAGER, store)
        cars = []
        for _n in range(n_cars):
            customer = CustomerFactory(group=group, home_store=store)
            cars.append((customer.pk, VehicleFactory(owner=customer).pk))
        crews = []
        for i in range(clients):  # each client works with its own people and bay (a technician clocks one job at a time)
            people = {"advisor": manager, "tech": make_staff(Role.TECHNICIAN, store, skills=["maintenance"]),
                      "foreman": make_staff(Role.FOREMAN, store), "qc": make_staff(Role.QC_INSPECTOR, store)}
            bay = Bay.objects.create(store=store, name=f"B{i + 1}")
            tokens = {role: token_create(actor=manager, user=user, name=f"bench-{role}-{i}")[1] for role, user in people.items()}
            crews.append({"tokens": tokens, "tech": people["tech"].pk, "bay": bay.pk})
    return {"store": store.pk, "group": group.pk, "manager": manager.pk, "cars": cars, "crews": crews}


# ---- the lifecycle -------------------------------------------------------------------------------------------------
class Client:
    """One client: a keep-alive HTTP session plus the acting user for the steps without an endpoint yet."""

    def __init__(self, base: str, crew: dict[str, Any], setup: dict[str, Any], paths: set[str]) -> None:
        import requests

        from aftersales.staff.models import User
        from aftersales.stores.models import Store

        self.sessions = {}
        for role, token in crew["tokens"].items():
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            self.sessions[role] = session
        self.crew = crew
        self.base = base
        self.paths = paths
        self.user = User.objects.get(pk=setup["manager"])
        self.store = Store.objects.get(pk=setup["store"])
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        from aftersales.inspections.services import qc_checklist

        self.answers = {
            kind: [{"item_id": i.pk, "result": "na" if i.optional else "pass"}
                   for i in qc_checklist(setup["store"], kind).items.all()]
            for kind in ("self", "peer", "final", "cleaning")
        }

    def call(self, step: str, method: str, path: str, body: Any = None, status: int = 200, who: str = "advisor") -> Any:
        t0 = time.perf_counter()
        response = self.sessions[who].request(method, self.base + path, json=body)
        self.times[step].append(time.perf_counter() - t0)
        if response.status_code != status:
            raise RuntimeError(f"{step}: {response.status_code} {response.text[:300]}")
        return response.json() if response.headers.get("Content-Type", "").startswith("application/json") else None

    def direct(self, step: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        result = fn()
        self.times[step].append(time.perf_counter() - t0)
        return result

    def lifecycle(self, customer_id: int, vehicle_id: int, mileage: int) -> None:
        from aftersales.workshop.choices import OrderStatus
        from aftersales.workshop.models import RepairOrder
        from aftersales.workshop.services import repair_order_move

        user = self.user
        order = self.call("check_in", "POST", "/api/workshop/orders", {
            "customer_id": customer_id, "vehicle_id": vehicle_id, "mileage": mileage, "complaint": "保养"}, status=201)
        order = SimpleNamespace(pk=order["id"])
        out = self.call("add_job", "POST", f"/api/estimates/orders/{order.pk}/jobs", {
            "title": "20,000 km 保养", "job_type": "maintenance", "lines": LINES}, status=201)
        job_id = out["jobs"][-1]["id"]
        self.call("send_estimate", "POST", f"/api/estimates/orders/{order.pk}/send", {})
        self.call("approve", "POST", f"/api/estimates/orders/{order.pk}/phone-approval", {
            "decisions": [{"job_id": job_id, "approve": True}], "approver_name": "车主本人", "said": "同意保养"}, status=201)
        self.call("dispatch", "POST", f"/api/workshop/jobs/{job_id}/dispatch",
                  {"technician_id": self.crew["tech"], "bay_id": self.crew["bay"]})
        self.call("clock_on", "POST", f"/api/workshop/jobs/{job_id}/clock-on", who="tech")
        self.call("finish", "POST", f"/api/workshop/jobs/{job_id}/finish", who="tech")
        for kind, who in (("self", "tech"), ("peer", "foreman"), ("final", "qc"), ("cleaning", "qc")):
            self.call(f"qc_{kind}", "POST", f"/api/inspections/qc/orders/{order.pk}/checks",
                      {"kind": kind, "results": self.answers[kind]}, status=201, who=who)
        if RepairOrder.objects.filter(pk=order.pk, status=OrderStatus.QUALITY_CHECK).exists():  # the last check moves it
            self.direct("ready", lambda: repair_order_move(actor=user, order=RepairOrder.objects.get(pk=order.pk),
                                                           to=OrderStatus.READY))
        invoice = self.call("invoice", "POST", f"/api/billing/orders/{order.pk}/invoice", status=201)
        self.call("pay", "POST", f"/api/billing/invoices/{invoice['id']}/payments", {
            "method": "wechat_pay", "amount": invoice["total"], "reference": f"4200{uuid.uuid4().hex[:20]}",
            "idempotency_key": uuid.uuid4().hex,
        }, status=201)
        self.call("deliver", "POST", f"/api/billing/orders/{order.pk}/deliver", {"car_state": "ok"})


HTTP_STEPS = {"check_in", "add_job", "send_estimate", "approve", "dispatch", "clock_on", "finish", "qc_self", "qc_peer", "qc_final", "qc_cleaning", "invoice", "pay", "deliver"}


def run_http(setup: dict[str, Any], clients: int, per_client: int, port: int, workers: int, threads: int) -> dict[str, Any]:
    from django.db import connection

    env = {**os.environ, "AFTERSALES_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "aftersales.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        # A real deadline (the machine may be loaded: gunicorn's workers import Django first), not 100 × a 2 s probe.
        deadline = time.monotonic() + float(os.environ.get("BENCH_SERVER_START_TIMEOUT", "180"))
        last_error: Exception | None = None
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode} before it answered")
            try:
                left = max(1.0, deadline - time.monotonic())
                paths = set(requests.get(base + "/api/openapi.json", timeout=min(30.0, left)).json()["paths"])
                break
            except Exception as exc:  # not listening yet, or still starting
                last_error = exc
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"server did not answer within the start timeout: {last_error}") from exc
                time.sleep(0.5)
        cars = setup["cars"]
        workers_ = [Client(base, setup["crews"][i], setup, paths) for i in range(clients)]
        connection.close()
        # warm-up: one order per client, not counted
        for i, c in enumerate(workers_):
            c.lifecycle(*cars[i], mileage=10000)
            c.times.clear()
        barrier = threading.Barrier(clients + 1)

        def work(i: int, client: Client) -> None:
            barrier.wait()
            try:
                for k in range(per_client):
                    customer_id, vehicle_id = cars[clients + i * per_client + k]
                    client.lifecycle(customer_id, vehicle_id, mileage=10000)
            except Exception as exc:
                client.errors.append(repr(exc))
            finally:
                connection.close()

        pool = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(workers_)]
        for t in pool:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    times: dict[str, list[float]] = defaultdict(list)
    for c in workers_:
        for step, values in c.times.items():
            times[step] += values
    errors = [e for c in workers_ for e in c.errors]
    done = clients * per_client - len(errors)
    return {
        "orders": done, "seconds": round(elapsed, 2), "orders_per_s": round(done / elapsed, 2), "errors": errors[:5],
        "steps": {s: {"via": "http" if s in HTTP_STEPS else "direct", "n": len(v), "p50_ms": round(pct(v, 50) * 1000, 1),
                      "p95_ms": round(pct(v, 95) * 1000, 1)} for s, v in times.items()},
    }


# ---- the floor: the same writes, plain SQL, one transaction per order ------------------------------------------------
FLOOR_SQL = """
INSERT INTO workshop_ordernumbercounter (store_id, day, last) VALUES (%(store)s, current_date, 1)
  ON CONFLICT (store_id, day) DO UPDATE SET last = workshop_ordernumbercounter.last + 1 RETURNING last;
INSERT INTO workshop_repairorder (number, status, opened_at, mileage_in, complaint, total, authorized_total, advisor_id,
  customer_id, store_id, vehicle_id, last_public_update_at, progress_messages) VALUES (%(number)s, 'checked_in', now(), %(km)s, '保养', 0, 0,
  %(user)s, %(customer)s, %(store)s, %(vehicle)s, now(), true) RETURNING id;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('', 'checked_in', '', now(), %(user)s, %(order)s);
INSERT INTO customers_customerstore (since, customer_id, store_id) VALUES (now(), %(customer)s, %(store)s) ON CONFLICT DO NOTHING;
INSERT INTO vehicles_mileagereading (km, read_at, source, is_correction, note, recorded_by_id, vehicle_id) VALUES (%(km)s, now(), 'visit', false, '', %(user)s, %(vehicle)s);
UPDATE vehicles_vehicle SET current_mileage = %(km)s WHERE id = %(vehicle)s;
{audit}
INSERT INTO workshop_repairjob (seq, job_type, title, cause, correction, order_id, created_at, declined_reason, is_additional,
  required_skill, standard_hours, status) VALUES (1, 'maintenance', '20,000 km 保养', '', '', %(order)s, now(), '', false, '', 0, 'proposed') RETURNING id;
INSERT INTO workshop_repairline (kind, code, description, quantity, unit_price, discount, amount, job_id, order_id, is_aftermarket, unit_cost, keep_old_part)
  VALUES ('labour', '', 'labour', 1.5, 280, 0, 420, %(job)s, %(order)s, false, 0, false), ('part', 'OIL-5W30', 'oil', 4.5, 98, 0, 441, %(job)s, %(order)s, false, 0, false);
INSERT INTO workshop_repairjobevent (from_state, to_state, reason, at, actor_id, job_id) VALUES ('', 'proposed', '', now(), %(user)s, %(job)s);
UPDATE workshop_repairorder SET total = 861 WHERE id = %(order)s;
{audit}
INSERT INTO estimates_estimate (kind, status, version, note, created_at, order_id, created_by_id) VALUES ('initial', 'draft', 1, '', now(), %(order)s, %(user)s) RETURNING id;
INSERT INTO estimates_estimateevent (from_state, to_state, reason, at, actor_id, estimate_id) VALUES ('', 'draft', '', now(), %(user)s, %(estimate)s);
UPDATE estimates_estimate SET status = 'sent', sent_at = now(), expires_at = now() + interval '7 days' WHERE id = %(estimate)s;
INSERT INTO estimates_estimate_jobs (estimate_id, repairjob_id) VALUES (%(estimate)s, %(job)s);
INSERT INTO estimates_estimateevent (from_state, to_state, reason, at, actor_id, estimate_id) VALUES ('draft', 'sent', '', now(), %(user)s, %(estimate)s);
UPDATE workshop_repairorder SET status = 'estimate_sent', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('checked_in', 'estimate_sent', '', now(), %(user)s, %(order)s);
{audit}
{message}
{audit}
UPDATE workshop_repairjob SET status = 'authorized' WHERE id = %(job)s;
INSERT INTO workshop_repairjobevent (from_state, to_state, reason, at, actor_id, job_id) VALUES ('proposed', 'authorized', 'phone', now(), %(user)s, %(job)s);
UPDATE workshop_repairorder SET total = 861, authorized_total = 861 WHERE id = %(order)s;
{audit}
INSERT INTO estimates_authorization (method, signer_name, signature, phone_said, approved_at, recorded_at, user_agent, approved_total,
  declined_total, snapshot, order_id, estimate_id, recorded_by_id) VALUES ('phone', '车主本人', '', '同意保养', now(), now(), '', 861, 0,
  '{"jobs": [{"id": 1, "title": "20,000 km 保养", "amount": "861.00", "approved": true}]}'::jsonb, %(order)s, %(estimate)s, %(user)s) RETURNING id;
INSERT INTO estimates_authorizationitem (approved, amount, has_aftermarket, aftermarket_consent, reason, authorization_id, job_id)
  VALUES (true, 861, false, false, '', %(auth)s, %(job)s);
UPDATE estimates_estimate SET status = 'decided', decided_at = now() WHERE id = %(estimate)s;
INSERT INTO estimates_estimateevent (from_state, to_state, reason, at, actor_id, estimate_id) VALUES ('sent', 'decided', 'phone', now(), %(user)s, %(estimate)s);
UPDATE workshop_repairorder SET status = 'authorized', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('estimate_sent', 'authorized', '', now(), %(user)s, %(order)s);
{audit}
UPDATE workshop_repairorder SET status = 'in_progress', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('authorized', 'in_progress', '', now(), %(user)s, %(order)s);
{audit}
{floor_work}
UPDATE workshop_repairorder SET status = 'quality_check', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('in_progress', 'quality_check', '', now(), %(user)s, %(order)s);
{audit}
{qc_final}
UPDATE workshop_repairorder SET status = 'ready', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('quality_check', 'ready', '', now(), %(user)s, %(order)s);
{audit}
{message}
INSERT INTO billing_numbersequence (kind, year, last, store_id) VALUES ('invoice', 2026, 0, %(store)s) ON CONFLICT (store_id, kind, year) DO NOTHING;
UPDATE billing_numbersequence SET last = last + 1 WHERE store_id = %(store)s AND kind = 'invoice' AND year = 2026 RETURNING last;
INSERT INTO billing_invoice (number, issued_at, status, subtotal, discount, tax, total, paid_amount, customer_id, order_id, store_id,
  authorized_total, credited_amount, issued_by_id, refunded_amount, seq, vat_rate, year) VALUES ('INV-LIFE-2026-' || %(seq)s, now(), 'issued',
  861, 0, 99.05, 861, 0, %(customer)s, %(order)s, %(store)s, 861, 0, %(user)s, 0, %(seq)s, 0.13, 2026) RETURNING id;
INSERT INTO billing_invoiceline (job_title, job_type, no_charge, kind, code, description, quantity, unit_price, discount, amount, invoice_id, job_id)
  VALUES ('20,000 km 保养', 'maintenance', false, 'labour', '', 'labour', 1.5, 280, 0, 420, %(invoice)s, %(job)s),
         ('20,000 km 保养', 'maintenance', false, 'part', 'OIL-5W30', 'oil', 4.5, 98, 0, 441, %(invoice)s, %(job)s);
INSERT INTO billing_invoiceevent (from_state, to_state, reason, at, actor_id, invoice_id) VALUES ('', 'issued', '', now(), %(user)s, %(invoice)s);
{audit}
INSERT INTO billing_payment (method, amount, received_at, reference, idempotency_key, invoice_id, received_by_id, refunded_amount)
  VALUES ('wechat_pay', 861, now(), %(key)s, %(key)s, %(invoice)s, %(user)s, 0);
UPDATE billing_invoice SET paid_amount = 861, status = 'paid', paid_at = now() WHERE id = %(invoice)s;
INSERT INTO loyalty_pointsentry (kind, source, points, balance_after, remaining, source_key, at, note, customer_id, group_id, store_id, invoice_id)
  VALUES ('earn', 'invoice', 861, 861, 861, 'invoice:' || %(invoice)s, now(), '', %(customer)s, %(group)s, %(store)s, %(invoice)s);
UPDATE customers_customer SET points_balance = points_balance + 861 WHERE id = %(customer)s;
INSERT INTO billing_invoiceevent (from_state, to_state, reason, at, actor_id, invoice_id) VALUES ('issued', 'paid', '', now(), %(user)s, %(invoice)s);
{audit}
UPDATE workshop_repairorder SET status = 'delivered', delivered_at = now(), last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('ready', 'delivered', '', now(), %(user)s, %(order)s);
INSERT INTO billing_delivery (delivered_at, jobs_explained, parts_shown, old_parts_handed_over, warranty_explained, car_state, notes,
  next_service_date, next_service_km, delivered_by_id, order_id) VALUES (now(), true, true, false, true, 'ok', '', current_date + 182, %(km)s + 5000, %(user)s, %(order)s);
{audit}
UPDATE workshop_repairorder SET status = 'closed', last_public_update_at = now() WHERE id = %(order)s;
INSERT INTO workshop_repairorderevent (from_state, to_state, reason, at, actor_id, order_id) VALUES ('delivered', 'closed', '', now(), %(user)s, %(order)s);
{audit}
INSERT INTO engagement_tierchange (old_tier, new_tier, changed_on, created_at, reason, last_visit, r_days, f, m, source, customer_id, store_id)
  VALUES ('', 'C', current_date, now(), 'c_first_visit', current_date, 0, 1, 861, 'visit', %(customer)s, %(store)s);
INSERT INTO engagement_customertier (tier, reason, last_visit, r_days, f, m, visits_total, value_class, computed_on, since, customer_id, store_id)
  VALUES ('C', 'c_first_visit', current_date, 0, 1, 861, 1, 'basic', current_date, current_date, %(customer)s, %(store)s)
  ON CONFLICT (customer_id) DO UPDATE SET tier = 'C', f = 1, m = 861, computed_on = current_date;
"""
AUDIT = ("INSERT INTO common_auditevent (at, action, object_id, object_repr, changes, reason, actor_id, content_type_id, "
         "customer_id, store_id) VALUES (now(), 'bench', %(order)s::text, 'x', '{}'::jsonb, '', %(user)s, %(ct)s, %(customer)s, %(store)s);")
MESSAGE = ("INSERT INTO messaging_message (kind, channel, purpose, language, recipient, subject, body, variables, provider_template_code, "
           "dedup_key, status, not_before, next_attempt_at, attempts, provider, provider_message_id, delivery_status, last_error, "
           "created_at, group_id, store_id, customer_id) VALUES ('repair.progress', 'sms', 'service', 'zh-hans', '13800000000', '', "
           "'您的车辆维修报价 ¥861.00，请点击确认：https://example.invalid/e/token', '{}'::jsonb, '', 'floor:' || %(order)s || ':' || "
           "gen_random_uuid(), 'pending', now(), now(), 0, '', '', '', '', now(), %(group)s, %(store)s, %(customer)s);")
JOB_MOVE = ("UPDATE workshop_repairjob SET status = '{to}' WHERE id = %(job)s;\n"
            "INSERT INTO workshop_repairjobevent (from_state, to_state, reason, at, actor_id, job_id) VALUES "
            "('{frm}', '{to}', '', now(), %(user)s, %(job)s);\n{audit}")


QC_CHECK = ("INSERT INTO inspections_qccheck (kind, cycle, result, checklist_name_zh, checklist_name_en, notes, signed_at, "
            "order_id, signed_by_id, store_id) VALUES ('{kind}', 1, 'pass', '检查', 'check', '', now(), %(order)s, %(user)s, "
            "%(store)s) RETURNING id;\n"
            "INSERT INTO inspections_qccheckitem (seq, group_zh, group_en, name_zh, name_en, result, note, qc_check_id) VALUES "
            "{items};\n{audit}")
QC_ITEMS = {"self": 7, "peer": 4, "final": 9, "cleaning": 4}  # items of the shipped checklists


def floor_statements() -> list[str]:
    def job_move(a: str, b: str) -> str:
        return JOB_MOVE.format(frm=a, to=b, audit="{audit}")

    def qc(kind: str) -> str:
        items = ", ".join(f"({n}, '组', 'group', '项目', 'item', 'pass', '', %(qc)s)" for n in range(1, QC_ITEMS[kind] + 1))
        return QC_CHECK.format(kind=kind, items=items, audit="{audit}")

    floor_work = "\n".join([
        "UPDATE workshop_repairjob SET technician_id = %(user)s, bay_id = NULL WHERE id = %(job)s;\n{audit}",  # dispatch
        job_move("authorized", "dispatched"),
        "INSERT INTO workshop_timeentry (started_at, end_reason, job_id, store_id, technician_id) VALUES "
        "(now(), '', %(job)s, %(store)s, %(user)s) RETURNING id;\n{audit}",  # clock on
        job_move("dispatched", "in_progress"),
        "UPDATE workshop_timeentry SET ended_at = now(), end_reason = 'finished' WHERE id = %(entry)s;",  # finish
        job_move("in_progress", "done"),
        qc("self"), qc("peer"),
    ])
    qc_final = "\n".join([qc("final"), job_move("done", "passed_qc"), qc("cleaning")])
    text = FLOOR_SQL.replace("{floor_work}", floor_work).replace("{qc_final}", qc_final).replace("{message}", MESSAGE).replace("{audit}", AUDIT)
    return [s.strip() for s in text.split(";\n") if s.strip()]


def run_floor(url: str, setup: dict[str, Any], clients: int, per_client: int, offset: int) -> dict[str, Any]:
    import psycopg
    from django.contrib.contenttypes.models import ContentType

    from aftersales.workshop.models import RepairOrder

    ct = ContentType.objects.get_for_model(RepairOrder).pk
    statements = floor_statements()
    cars = setup["cars"]
    barrier = threading.Barrier(clients + 1)
    errors: list[str] = []

    def work(i: int) -> None:
        with psycopg.connect(url) as conn:
            barrier.wait()
            for k in range(per_client):
                customer, vehicle = cars[offset + i * per_client + k]
                p: dict[str, Any] = {"user": setup["manager"], "store": setup["store"], "group": setup["group"], "customer": customer,
                                     "vehicle": vehicle, "km": 10000, "ct": ct, "key": uuid.uuid4().hex,
                                     "number": f"FLOOR-{i}-{k}-{uuid.uuid4().hex[:8]}"}
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        for sql in statements:
                            cur.execute(sql, p)
                            if "RETURNING id" in sql:
                                table = sql.split()[2]
                                key = {"workshop_repairorder": "order", "workshop_repairjob": "job", "workshop_timeentry": "entry",
                                       "inspections_qccheck": "qc", "estimates_estimate": "estimate",
                                       "estimates_authorization": "auth"}.get(table, "invoice")
                                p[key] = cur.fetchone()[0]
                            elif "RETURNING last" in sql:
                                p["seq" if "numbersequence" in sql else "order_seq"] = cur.fetchone()[0]
                except Exception as exc:
                    errors.append(repr(exc))

    pool = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    done = clients * per_client - len(errors)
    return {"orders": done, "seconds": round(elapsed, 3), "orders_per_s": round(done / elapsed, 2),
            "statements_per_order": len(statements), "errors": errors[:3]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--orders", type=int, default=25, help="orders per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("PostgreSQL only (DATABASE_URL=postgres://...)")
    if args.reset:
        reset_database(args.database_url)
    setup_django(args.database_url)
    n = args.clients * (1 + 2 * args.orders)
    t0 = time.perf_counter()
    setup = build(n, args.clients)
    print(f"data: {n} customers and cars, migrated in {time.perf_counter() - t0:.1f} s")
    http = run_http(setup, args.clients, args.orders, args.port, args.workers, args.threads)
    floor = run_floor(args.database_url, setup, args.clients, args.orders, offset=args.clients * (1 + args.orders))
    ratio = http["orders_per_s"] / floor["orders_per_s"] if floor["orders_per_s"] else float("nan")
    result = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "clients": args.clients,
              "gunicorn": f"{args.workers} workers x {args.threads} threads", "http": http, "floor": floor,
              "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO}
    print(f"\nlifecycle over HTTP: {http['orders']} orders by {args.clients} clients in {http['seconds']} s "
          f"= {http['orders_per_s']} orders/s")
    print(f"{'step':<14}{'via':<8}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}")
    for step, row in http["steps"].items():
        print(f"{step:<14}{row['via']:<8}{row['n']:>6}{row['p50_ms']:>10}{row['p95_ms']:>10}")
    print(f"\nfloor (plain SQL, {floor['statements_per_order']} statements in one transaction per order): "
          f"{floor['orders']} orders in {floor['seconds']} s = {floor['orders_per_s']} orders/s")
    print(f"ratio HTTP / floor = {ratio:.1%} (target ≥ {TARGET_RATIO:.0%}) {'MET' if ratio >= TARGET_RATIO else 'MISSED'}")
    if http["errors"] or floor["errors"]:
        print("errors:", http["errors"], floor["errors"])
    out = ROOT / "bench" / "results" / "lifecycle.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
