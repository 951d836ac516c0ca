"""The daily reminder sweep, set-based (SPEC §11).

One statement computes, for every vehicle of the stores being swept, its maintenance plan, its projected daily
distance (from its own mileage readings), its first-service and next-service due dates (time OR mileage, whichever
comes first) and copies them into a temporary table; one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` per
reminder type then writes the reminders that fall due today. No Python loop over vehicles: the cost is a few scans
of the vehicle, reading and repair-order tables, whatever the fleet size. Reminders are unique per vehicle (or
customer), type, due date and lead, so running the sweep twice writes nothing new.

The messages for the new reminders are then queued through the outbox (``message_enqueue``) with a dedup key per
reminder; that loop is over the day's new reminders, not over the fleet.

SQL dialects: PostgreSQL and SQLite differ in date arithmetic; the few expressions that differ are in ``Dialect``
(no ``%`` in the SQL text: statements with parameters would need it doubled).
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from .choices import ReminderKind

#: a reminder still fires this many days after its due date when the sweep found it late (projection moved,
#: sweep did not run); older ones are left to the care calendar's overdue view
GRACE_DAYS = 30
#: annual inspection (年检) on these purchase anniversaries: every 2 years up to year 10, then every year
INSPECTION_YEARS = "N - (N / 2) * 2 = 0 OR N > 10"
BUILTIN_PLAN = (3, 5000, 6, 10000)  # first service months / km, interval months / km


class Dialect:
    def __init__(self, vendor: str, zone: zoneinfo.ZoneInfo, today: dt.date) -> None:
        self.pg = vendor == "postgresql"
        self.zone = zone
        offset = dt.datetime.combine(today, dt.time(12), tzinfo=zone).utcoffset() or dt.timedelta(0)
        self.offset_minutes = int(offset.total_seconds() // 60)

    def local_date(self, ts: str) -> str:
        if self.pg:
            return f"(({ts}) AT TIME ZONE '{self.zone.key}')::date"
        return f"date({ts}, '{self.offset_minutes:+d} minutes')"

    def add_days(self, d: str, n: str) -> str:
        if self.pg:
            return f"(({d}) + ({n})::int)"
        return f"date({d}, CAST({n} AS INTEGER) || ' days')"

    def add_months(self, d: str, n: str) -> str:
        """Calendar months; the 31st plus one month is the last day of the next month (both databases)."""
        if self.pg:
            return f"(({d}) + ({n}) * INTERVAL '1 month')::date"
        return (
            f"MIN(date({d}, 'start of month', CAST({n} AS INTEGER) || ' months', (CAST(substr({d}, 9, 2) AS INTEGER) - 1) || ' days'),"
            f" date({d}, 'start of month', (CAST({n} AS INTEGER) + 1) || ' months', '-1 day'))"
        )

    def days_between(self, a: str, b: str) -> str:
        """Days (fractional) from timestamp ``a`` to timestamp ``b``."""
        if self.pg:
            return f"(EXTRACT(EPOCH FROM (({b}) - ({a}))) / 86400.0)"
        return f"(julianday({b}) - julianday({a}))"

    def trunc(self, x: str) -> str:
        return f"TRUNC({x})::int" if self.pg else f"CAST({x} AS INTEGER)"

    def year(self, d: str) -> str:
        return f"EXTRACT(YEAR FROM {d})::int" if self.pg else f"CAST(substr({d}, 1, 4) AS INTEGER)"

    def month(self, d: str) -> str:
        return f"EXTRACT(MONTH FROM {d})::int" if self.pg else f"CAST(substr({d}, 6, 2) AS INTEGER)"

    def month_start(self, d: str) -> str:
        return f"date_trunc('month', {d})::date" if self.pg else f"date({d}, 'start of month')"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def lit(self, day: dt.date) -> str:
        """A date literal (dates are formatted here, never user text)."""
        return f"DATE '{day.isoformat()}'" if self.pg else f"'{day.isoformat()}'"


@dataclass
class SweepResult:
    today: dt.date
    vehicles: int = 0
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages: int = 0
    seconds_compute: float = 0.0
    seconds_messages: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # seconds per statement

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def _plans_values(store_ids: list[int], since: str = "") -> tuple[str, list[Any]]:
    """The plan of every (store, make, model) present among the stores' vehicles, resolved in Python (tiny), as a
    VALUES list for the SQL: make + model, then make, then the store's default, then the group's default."""
    from aftersales.stores.models import Store

    from .models import MaintenancePlan

    stores = dict(Store.objects.filter(pk__in=store_ids).values_list("id", "group_id"))
    plans: dict[tuple[int, int | None, str, str], tuple[int, int, int, int]] = {}
    for p in MaintenancePlan.objects.filter(group_id__in=set(stores.values())):
        plans[(p.group_id, p.store_id, p.make, p.model)] = (p.first_service_months, p.first_service_km, p.interval_months, p.interval_km)
    combos = []
    with connection.cursor() as cur:
        placeholders = ",".join(["%s"] * len(store_ids))
        cur.execute(
            "SELECT DISTINCT COALESCE(v.selling_store_id, c.home_store_id), v.make, v.model FROM vehicles_vehicle v "  # noqa: S608
            "JOIN customers_customer c ON c.id = v.owner_id "
            f"WHERE COALESCE(v.selling_store_id, c.home_store_id) IN ({placeholders}){since}",
            store_ids,
        )
        combos = cur.fetchall()
    rows: list[Any] = []
    for store_id, make, model in combos:
        group_id = stores[store_id]
        plan = BUILTIN_PLAN
        for key in ((group_id, store_id, make, model), (group_id, None, make, model), (group_id, store_id, make, ""),
                    (group_id, None, make, ""), (group_id, store_id, "", ""), (group_id, None, "", "")):
            if key in plans:
                plan = plans[key]
                break
        rows += [store_id, make, model, *plan]
    if not combos:
        rows = [0, "", "", *BUILTIN_PLAN]
    values = ",".join(["(%s, %s, %s, %s, %s, %s, %s)"] * (len(rows) // 7))
    return values, rows


def _jobs_have_status() -> bool:
    from aftersales.workshop.models import RepairJob

    return "status" in {f.name for f in RepairJob._meta.get_fields()}


def _ensure_settings(store_ids: list[int]) -> None:
    from .models import CareSettings

    have = set(CareSettings.objects.filter(store_id__in=store_ids).values_list("store_id", flat=True))
    CareSettings.objects.bulk_create([CareSettings(store_id=s) for s in store_ids if s not in have], ignore_conflicts=True)


def build_due_table(store_ids: list[int], today: dt.date, zone: zoneinfo.ZoneInfo, table: str = "care_due",
                    purchased_since: dt.date | None = None) -> int:
    """Create (TEMP) ``table``: one row per vehicle of the stores with its projected due dates. Returns the row count.
    ``purchased_since`` limits it to cars bought since that date (the coverage report needs only new cars)."""
    d = Dialect(connection.vendor, zone, today)
    _ensure_settings(store_ids)
    since = f" AND v.purchase_date >= {d.lit(purchased_since)}" if purchased_since else ""
    values, params = _plans_values(store_ids, since)
    store_in = ",".join(str(int(i)) for i in store_ids)
    rate = (
        f"CASE WHEN r.n >= 2 AND {d.days_between('r.t0', 'r.t1')} >= 1 AND r.k1 > r.k0 "
        f"THEN (r.k1 - r.k0) / {d.days_between('r.t0', 'r.t1')} ELSE cs.default_daily_km END"
    )
    base_date = f"COALESCE({d.local_date('r.t1')}, v.purchase_date, {d.local_date('v.created_at')})"
    base_km = "COALESCE(r.k1, v.current_mileage)"

    def date_at_km(km: str) -> str:
        return d.add_days(base_date, d.trunc(f"(({km}) - {base_km}) / NULLIF(({rate}), 0)"))

    svc_date = d.local_date("s.at")
    elapsed = d.days_between("s.at", "COALESCE(r.t1, s.at)")
    svc_km = f"COALESCE(s.km, {base_km} - " + d.trunc(f"{elapsed} * ({rate})") + ")"
    first_time = d.add_months("v.purchase_date", "pl.fm")
    first_km_date = date_at_km("pl.fkm")
    next_time = d.add_months(svc_date, "pl.im")
    next_km = f"({svc_km} + pl.ikm)"
    next_km_date = date_at_km(next_km)
    not_declined = " AND j.status <> 'declined'" if _jobs_have_status() else ""
    sql = f"""
        CREATE TEMP TABLE {table} AS
        WITH pl(store_id, make, model, fm, fkm, im, ikm) AS (VALUES {values}),
        vv AS MATERIALIZED (
            SELECT v.id, v.owner_id, COALESCE(v.selling_store_id, c.home_store_id) AS store_id, v.make, v.model,
                   v.purchase_date, v.current_mileage, v.created_at, v.insurance_expiry, v.warranty_end
            FROM vehicles_vehicle v JOIN customers_customer c ON c.id = v.owner_id
            WHERE c.anonymised_at IS NULL AND COALESCE(v.selling_store_id, c.home_store_id) IN ({store_in}){since}
        ),
        r AS (
            SELECT m.vehicle_id, COUNT(*) AS n, MIN(m.read_at) AS t0, MAX(m.read_at) AS t1, MIN(m.km) AS k0, MAX(m.km) AS k1
            FROM vehicles_mileagereading m WHERE m.is_correction = {'false' if d.pg else '0'} GROUP BY m.vehicle_id
        ),
        s AS (
            SELECT o.vehicle_id, MAX(o.opened_at) AS at, MAX(o.mileage_in) AS km
            FROM workshop_repairorder o
            WHERE o.status IN ('delivered', 'closed')
              AND EXISTS (SELECT 1 FROM workshop_repairjob j WHERE j.order_id = o.id AND j.job_type = 'maintenance'{not_declined})
            GROUP BY o.vehicle_id
        )
        SELECT v.id AS vehicle_id, v.owner_id AS customer_id, v.store_id, v.purchase_date, v.insurance_expiry,
               v.warranty_end,
               CASE WHEN v.purchase_date IS NOT NULL AND (s.at IS NULL OR {svc_date} < v.purchase_date)
                    THEN {d.least(first_time, f'COALESCE({first_km_date}, {first_time})')} END AS fs_due,
               pl.fkm AS fs_km,
               CASE WHEN s.at IS NOT NULL AND (v.purchase_date IS NULL OR {svc_date} >= v.purchase_date)
                    THEN {d.least(next_time, f'COALESCE({next_km_date}, {next_time})')} END AS mt_due,
               CASE WHEN s.at IS NOT NULL THEN {next_km} END AS mt_km,
               {svc_date} AS last_service,
               {d.least(first_time, f'COALESCE({first_km_date}, {first_time})')} AS fs_due_any,
               cs.first_service_lead_days AS fs_lead, cs.maintenance_lead_days AS mt_lead,
               cs.inspection_lead_days AS insp_lead, cs.warranty_lead_days AS wty_lead, cs.holiday_lead_days AS hol_lead
        FROM vv v
        JOIN care_caresettings cs ON cs.store_id = v.store_id
        JOIN pl ON pl.store_id = v.store_id AND pl.make = v.make AND pl.model = v.model
        LEFT JOIN r ON r.vehicle_id = v.id
        LEFT JOIN s ON s.vehicle_id = v.id
    """  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        if d.pg:
            # the planner over-estimates this statement and JIT-compiles it: ~6 s of compilation on 1.2M vehicles
            # for a query that runs once a day; the caller's transaction scopes the setting
            cur.execute("SET LOCAL jit = off")
        cur.execute(sql, params)
        if d.pg:
            cur.execute(f"ANALYZE {table}")  # temporary tables are never auto-analysed: give the planner the row count
        cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        return int(cur.fetchone()[0])


def _insert(cur: Any, d: Dialect, kind: str, today: dt.date, select_sql: str) -> int:
    """INSERT the rows of ``select_sql`` (store_id, customer_id, vehicle_id, due_date, lead_days, due_km, detail)."""
    sql = (
        "INSERT INTO care_reminder (store_id, customer_id, vehicle_id, due_date, lead_days, due_km, detail, kind, "  # noqa: S608
        "remind_on, status, created_at) "
        f"SELECT x.store_id, x.customer_id, x.vehicle_id, x.due_date, x.lead_days, x.due_km, x.detail, %s, {d.lit(today)}, 'due', %s "
        f"FROM ({select_sql}) x WHERE 1=1 ON CONFLICT DO NOTHING"
    )
    cur.execute(sql, [kind, connection.ops.adapt_datetimefield_value(timezone.now())])
    return max(cur.rowcount, 0)


def insert_reminders(store_ids: list[int], today: dt.date, zone: zoneinfo.ZoneInfo, result: SweepResult, table: str = "care_due") -> None:
    """Write the reminders that fall due ``today`` for the vehicles in ``table`` (see :func:`build_due_table`)."""
    from .models import CareSettings

    d = Dialect(connection.vendor, zone, today)
    t = d.lit(today)
    grace = d.lit(today - dt.timedelta(days=GRACE_DAYS))
    store_in = ",".join(str(int(i)) for i in store_ids)

    def run(kind: str, select_sql: str) -> None:
        started = time.perf_counter()
        with connection.cursor() as cur:
            result.created[kind] += _insert(cur, d, kind, today, select_sql)
        result.timings[str(kind)] += time.perf_counter() - started

    # first service: 3 days before it is due; once per vehicle
    run(ReminderKind.FIRST_SERVICE, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.fs_due AS due_date, u.fs_lead AS lead_days, u.fs_km AS due_km,
               '' AS detail
        FROM {table} u
        WHERE u.fs_due IS NOT NULL AND {d.add_days('u.fs_due', '-u.fs_lead')} <= {t} AND u.fs_due >= {grace}
          AND NOT EXISTS (SELECT 1 FROM care_reminder e WHERE e.vehicle_id = u.vehicle_id AND e.kind = 'first_service')
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # maintenance due: once per service cycle (no reminder since the last service)
    run(ReminderKind.MAINTENANCE, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.mt_due AS due_date, u.mt_lead AS lead_days, u.mt_km AS due_km,
               '' AS detail
        FROM {table} u
        WHERE u.mt_due IS NOT NULL AND {d.add_days('u.mt_due', '-u.mt_lead')} <= {t} AND u.mt_due >= {grace}
          AND NOT EXISTS (SELECT 1 FROM care_reminder e WHERE e.vehicle_id = u.vehicle_id AND e.kind = 'maintenance'
                          AND e.due_date > u.last_service)
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # insurance expiry: one reminder per lead (default 30 and 7 days before), each in its own window
    by_offsets: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for cs in CareSettings.objects.filter(store_id__in=store_ids):
        by_offsets[tuple(cs.insurance_offsets())].append(cs.store_id)
    for offsets, ids in by_offsets.items():
        ids_in = ",".join(str(int(i)) for i in ids)
        for i, lead in enumerate(offsets):
            upper = offsets[i + 1] + 1 if i + 1 < len(offsets) else 0  # fire until the next lead's window opens
            run(ReminderKind.INSURANCE, f"""
                SELECT u.store_id, u.customer_id, u.vehicle_id, u.insurance_expiry AS due_date, {int(lead)} AS lead_days,
                       CAST(NULL AS INTEGER) AS due_km, '' AS detail
                FROM {table} u
                WHERE u.store_id IN ({ids_in}) AND u.insurance_expiry IS NOT NULL
                  AND {d.add_days('u.insurance_expiry', str(-int(lead)))} <= {t}
                  AND {d.add_days('u.insurance_expiry', str(-int(upper)))} >= {t}
            """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # warranty end
    run(ReminderKind.WARRANTY, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.warranty_end AS due_date, u.wty_lead AS lead_days,
               CAST(NULL AS INTEGER) AS due_km, '' AS detail
        FROM {table} u
        WHERE u.warranty_end IS NOT NULL AND {d.add_days('u.warranty_end', '-u.wty_lead')} <= {t} AND u.warranty_end >= {t}
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # annual inspection and purchase anniversary: this year's or next year's anniversary of the purchase date
    for kind, lead_col, years_rule in (
        (ReminderKind.INSPECTION, "u.insp_lead", INSPECTION_YEARS),
        (ReminderKind.ANNIVERSARY, "0", "N >= 1"),
    ):
        rule = years_rule.replace("N", "a.n")
        run(kind, f"""
            SELECT a.store_id, a.customer_id, a.vehicle_id, a.due_date, a.lead_days, CAST(NULL AS INTEGER) AS due_km,
                   CAST(a.n AS TEXT) AS detail
            FROM (
                SELECT u.store_id, u.customer_id, u.vehicle_id, {lead_col} AS lead_days, k.k + {d.year(t)} - {d.year('u.purchase_date')} AS n,
                       {d.add_months('u.purchase_date', f"12 * (k.k + {d.year(t)} - {d.year('u.purchase_date')})")} AS due_date
                FROM {table} u CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) k
                WHERE u.purchase_date IS NOT NULL
            ) a
            WHERE a.n >= 1 AND ({rule}) AND {d.add_days('a.due_date', '-a.lead_days')} <= {t} AND a.due_date >= {t}
        """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # holidays: before the first day of each closed holiday of the vehicle's store
    run(ReminderKind.HOLIDAY, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, h.date AS due_date, u.hol_lead AS lead_days, CAST(NULL AS INTEGER) AS due_km,
               h.name AS detail
        FROM {table} u JOIN stores_holiday h ON h.store_id = u.store_id AND h.kind = 'closed'
        WHERE {d.add_days('h.date', '-u.hol_lead')} <= {t} AND h.date >= {t}
          AND NOT EXISTS (SELECT 1 FROM stores_holiday p WHERE p.store_id = h.store_id AND p.kind = 'closed'
                          AND p.name = h.name AND p.date = {d.add_days('h.date', '-1')})
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # birthdays: on the first days of the birthday month (the month's offer), per customer (no vehicle)
    run(ReminderKind.BIRTHDAY, f"""
        SELECT c.home_store_id AS store_id, c.id AS customer_id, CAST(NULL AS BIGINT) AS vehicle_id, {d.month_start(t)} AS due_date,
               0 AS lead_days, CAST(NULL AS INTEGER) AS due_km, '' AS detail
        FROM customers_customer c
        WHERE c.home_store_id IN ({store_in}) AND c.birthday IS NOT NULL AND c.anonymised_at IS NULL
          AND {d.month('c.birthday')} = {d.month(t)}
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # declined recommendations resurfacing after the store's delay (needs RepairJob.status; see the selector)
    _insert_declined(store_ids, today, result)


def _insert_declined(store_ids: list[int], today: dt.date, result: SweepResult) -> None:
    from .models import CareSettings, Reminder
    from .selectors import _declined_jobs_due

    delays = dict(CareSettings.objects.filter(store_id__in=store_ids).values_list("store_id", "declined_delay_days"))
    rows: dict[tuple[int, dt.date], Reminder] = {}
    for job in _declined_jobs_due(store_ids=store_ids, today=today, delays=delays):
        key = (job["vehicle_id"], job["due_date"])
        if key in rows:
            rows[key].detail = (rows[key].detail + "；" + job["title"])[:200]
            continue
        rows[key] = Reminder(
            store_id=job["store_id"], customer_id=job["customer_id"], vehicle_id=job["vehicle_id"], kind=ReminderKind.DECLINED,
            due_date=job["due_date"], lead_days=0, remind_on=today, detail=job["title"][:200],
        )
    if rows:
        created = Reminder.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
        result.created[ReminderKind.DECLINED] += len(created) if connection.vendor != "postgresql" else _count_new(rows, today)


def _count_new(rows: dict[Any, Any], today: dt.date) -> int:
    from .models import Reminder

    return Reminder.objects.filter(kind=ReminderKind.DECLINED, remind_on=today, vehicle_id__in=[k[0] for k in rows]).count()


def zones(store_ids: list[int] | None = None) -> dict[str, list[int]]:
    from aftersales.stores.models import Store

    qs = Store.objects.filter(is_active=True)
    if store_ids is not None:
        qs = qs.filter(pk__in=store_ids)
    out: dict[str, list[int]] = defaultdict(list)
    for pk, tz in qs.values_list("id", "time_zone"):
        out[tz].append(pk)
    return out
