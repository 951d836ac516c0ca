"""The daily reminder sweep, set-based (SPEC §11).

One statement computes, for every vehicle of the active stores, its maintenance plan, its projected daily distance
(from its own mileage readings), its first-service and next-service due dates (time OR mileage, whichever comes
first), and keeps them in ``VehicleDue`` (care_vehicledue). The next day only the vehicles whose inputs changed are
computed again (a new reading, order or job, an order or job that moved state, the vehicle or its owner saved); a
change of plans or stores rebuilds the table (``refresh_due``). One ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
per reminder type then writes the reminders that fall due today, reading only the rows in its window through the
table's indexes. No Python loop over vehicles. Reminders are unique per vehicle (or customer), type, due date and
lead, so running the sweep twice writes nothing new.

The messages for the new reminders are then queued through the outbox (``message_enqueue_many``, a batch per
transaction) with a dedup key per reminder.

SQL dialects: PostgreSQL and SQLite differ in date arithmetic; the few expressions that differ are in ``Dialect``
(no ``%`` in the SQL text: statements with parameters would need it doubled).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
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
#: bump when the due-date SQL changes: the next sweep rebuilds ``VehicleDue`` in full
DUE_VERSION = 3  # 3: imported maintenance visits count as services
#: ``VehicleDue`` is rebuilt in full at least this often, whatever the change tracking says
FULL_REBUILD_DAYS = 7
#: when more than this share of the vehicles (and more than ``REBUILD_MIN``) changed, ``VehicleDue`` is rebuilt
#: instead of refreshed (50,000 changed vehicles: 5 s, a rebuild of 1,200,000: 17-19 s)
REBUILD_SHARE = 0.2
REBUILD_MIN = 10_000
#: memory for the due-date statement's hashes (readings and orders per vehicle) on PostgreSQL, for its transaction
DUE_WORK_MEM = "128MB"


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

    def day(self, d: str) -> str:
        return f"EXTRACT(DAY FROM {d})::int" if self.pg else f"CAST(substr({d}, 9, 2) AS INTEGER)"

    def month_start(self, d: str) -> str:
        return f"date_trunc('month', {d})::date" if self.pg else f"date({d}, 'start of month')"

    def noon(self, d: str) -> str:
        """Noon of local date ``d`` as a timestamp (UTC, as the database stores them): an imported visit's time."""
        if self.pg:
            return f"((({d}) + TIME '12:00') AT TIME ZONE '{self.zone.key}')"
        return f"datetime({d}, '+12 hours', '{-self.offset_minutes:+d} minutes')"

    def contains(self, text: str, word: str) -> str:
        """``word`` (from the code, never user text) occurs in ``text`` (no LIKE: its ``%`` would need doubling)."""
        word = word.replace("'", "")
        return f"strpos({text}, '{word}') > 0" if self.pg else f"instr({text}, '{word}') > 0"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def lit(self, day: dt.date) -> str:
        """A date literal (dates are formatted here, never user text)."""
        return f"DATE '{day.isoformat()}'" if self.pg else f"'{day.isoformat()}'"


@dataclass
class SweepResult:
    today: dt.date
    vehicles: int = 0  # vehicles whose due dates were computed (all of them when the table was rebuilt)
    rebuilt: bool = False  # the due-date table was rebuilt in full (else: refreshed for the vehicles that changed)
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    messages: int = 0
    seconds_compute: float = 0.0
    seconds_messages: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # seconds per statement

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


@dataclass
class _Plans:
    ctes: str  # the VALUES lists, as CTEs
    params: list[Any]
    joins: str  # their joins to the vehicles (``v``, with ``store_id``, ``make`` and ``model``)
    fm: str = "pd.fm"  # the plan's figures: the most specific level that matches
    fkm: str = "pd.fkm"
    im: str = "pd.im"
    ikm: str = "pd.ikm"


def _plan_values(store_ids: list[int]) -> _Plans:
    """The stores' maintenance plans and care settings, resolved in Python (tiny), as VALUES lists for the SQL: per
    store, the plans by make and model (``pmm``), by make (``pm``) and the store's default with its settings (``pd``:
    the store's plan, else the group's, else the built-in one). A vehicle takes the first that matches, in that order:
    make + model (store, then group), make (store, then group), default. A level without plans is left out."""
    from aftersales.stores.models import Store

    from .models import CareSettings, MaintenancePlan

    stores = dict(Store.objects.filter(pk__in=store_ids).values_list("id", "group_id"))
    settings = {
        row[0]: row[1:] for row in CareSettings.objects.filter(store_id__in=store_ids).values_list(
            "store_id", "default_daily_km", "first_service_lead_days", "maintenance_lead_days", "inspection_lead_days",
            "warranty_lead_days", "holiday_lead_days",
        )
    }
    plans: dict[tuple[int, int | None, str, str], tuple[int, int, int, int]] = {}
    for p in MaintenancePlan.objects.filter(group_id__in=set(stores.values())):
        plans[(p.group_id, p.store_id, p.make, p.model)] = (p.first_service_months, p.first_service_km, p.interval_months, p.interval_km)
    by_model: list[Any] = []
    by_make: list[Any] = []
    default: list[Any] = []
    for store_id in sorted(stores):
        if store_id not in settings:
            continue
        group_id = stores[store_id]
        mine = {(make, model) for (g, s, make, model) in plans if g == group_id and s in (None, store_id)}
        for make, model in sorted(mine):
            plan = plans.get((group_id, store_id, make, model)) or plans[(group_id, None, make, model)]
            if model:
                by_model += [store_id, make, model, *plan]
            elif make:
                by_make += [store_id, make, *plan]
        plan = plans.get((group_id, store_id, "", "")) or plans.get((group_id, None, "", "")) or BUILTIN_PLAN
        default += [store_id, *plan, *settings[store_id]]
    default = default or [0, *BUILTIN_PLAN, 0, 0, 0, 0, 0, 0]  # a VALUES list cannot be empty: a row of no store
    ctes = [f"pd(store_id, fm, fkm, im, ikm, daily_km, fs_lead, mt_lead, insp_lead, wty_lead, hol_lead) AS "
            f"(VALUES {','.join(['(' + ', '.join(['%s'] * 11) + ')'] * (len(default) // 11))})"]
    # a LEFT JOIN filtered below with COALESCE (which the planner does not turn back into an inner join): joined on an
    # expression (the vehicle's store), an inner join is estimated at a tenth of the vehicles, and the planner then
    # hashes the million vehicles instead of the readings and services per vehicle (2 s more)
    joins = ["LEFT JOIN pd ON pd.store_id = v.store_id"]
    levels = ["pd"]
    if by_make:
        ctes.append(f"pm(store_id, make, fm, fkm, im, ikm) AS (VALUES {','.join(['(%s, %s, %s, %s, %s, %s)'] * (len(by_make) // 6))})")
        joins.append("LEFT JOIN pm ON pm.store_id = v.store_id AND pm.make = v.make")
        levels.insert(0, "pm")
    if by_model:
        ctes.append(f"pmm(store_id, make, model, fm, fkm, im, ikm) AS "
                    f"(VALUES {','.join(['(%s, %s, %s, %s, %s, %s, %s)'] * (len(by_model) // 7))})")
        joins.append("LEFT JOIN pmm ON pmm.store_id = v.store_id AND pmm.make = v.make AND pmm.model = v.model")
        levels.insert(0, "pmm")

    def pick(col: str) -> str:
        return f"COALESCE({', '.join(f'{t}.{col}' for t in levels)})" if len(levels) > 1 else f"pd.{col}"

    return _Plans(ctes=", ".join(ctes), params=[*default, *by_make, *by_model], joins="\n            ".join(joins),
                  fm=pick("fm"), fkm=pick("fkm"), im=pick("im"), ikm=pick("ikm"))


def _jobs_have_status() -> bool:
    from aftersales.workshop.models import RepairJob

    return "status" in {f.name for f in RepairJob._meta.get_fields()}


def _imports_installed() -> bool:
    from django.apps import apps

    return apps.is_installed("aftersales.engagement")


def _ensure_settings(store_ids: list[int]) -> None:
    from .models import CareSettings

    have = set(CareSettings.objects.filter(store_id__in=store_ids).values_list("store_id", flat=True))
    CareSettings.objects.bulk_create([CareSettings(store_id=s) for s in store_ids if s not in have], ignore_conflicts=True)


#: the columns of ``VehicleDue`` (care_vehicledue), in the order of :func:`due_select`
DUE_COLUMNS = ("vehicle_id", "customer_id", "store_id", "purchase_date", "insurance_expiry", "warranty_end", "anniversary",
               "fs_due", "fs_km", "mt_due", "mt_km", "last_service")


def due_select(d: Dialect, store_ids: list[int], only: str = "") -> tuple[str, list[Any]]:
    """The SELECT of one row per vehicle of the stores with its plan, projected daily distance (from its own mileage
    readings), first-service and next-service due dates (time OR mileage, whichever comes first): the columns of
    ``DUE_COLUMNS``, then ``fs_due_any`` (the first-service date even after a service) and the store's leads.

    ``only`` (SQL, optional): a query of vehicle ids that limits the computation to those vehicles (readings and
    orders included). Each figure is computed once per vehicle: the levels below are subqueries kept apart
    (``OFFSET 0``) so that the planner does not paste an expression into every place that uses it.
    """
    plans = _plan_values(store_ids)
    keep = "OFFSET 0" if d.pg else "LIMIT -1 OFFSET 0"

    def limited(col: str) -> str:
        return f" AND {col} IN ({only})" if only else ""

    not_declined = " AND j.status <> 'declined'" if _jobs_have_status() else ""
    days = d.days_between("r.t0", "r.t1")
    # level 1 (b): the vehicle's store, plan, readings and last service, its daily distance and where it stands
    # level 2 (c): the first-service and next-service dates by time, the dates at which it reaches a distance
    # level 3: the due dates (whichever comes first) and whether each applies

    def date_at_km(km: str, t: str) -> str:
        return d.add_days(f"{t}.base_date", d.trunc(f"(({km}) - {t}.base_km) / NULLIF({t}.rate, 0)"))

    imported = ""
    if _imports_installed():
        # a maintenance visit imported from the store's previous system is a service like one done here
        from aftersales.engagement.tags import MAINTENANCE_WORDS

        said = " OR ".join(d.contains("LOWER(iv.items)", w.lower()) for w in MAINTENANCE_WORDS)
        where = f"iv.vehicle_id IS NOT NULL AND ({said}){limited('iv.vehicle_id')}"
        imported = f"UNION ALL SELECT iv.vehicle_id, {d.noon('iv.visit_date')} AS at, iv.mileage AS km "
        imported += f"FROM engagement_importedvisit iv WHERE {where}"  # SQL from the code: column names and fixed words
    svc_km = "COALESCE(b.s_km, b.base_km - " + d.trunc(f"{d.days_between('b.s_at', 'COALESCE(b.t1, b.s_at)')} * b.rate") + ")"
    sql = f"""
        WITH {plans.ctes},
        r AS (
            SELECT m.vehicle_id, COUNT(*) AS n, MIN(m.read_at) AS t0, MAX(m.read_at) AS t1, MIN(m.km) AS k0, MAX(m.km) AS k1
            FROM vehicles_mileagereading m WHERE m.is_correction = {'false' if d.pg else '0'}{limited('m.vehicle_id')}
            GROUP BY m.vehicle_id
        ),
        s AS (
            SELECT z.vehicle_id, MAX(z.at) AS at, MAX(z.km) AS km FROM (
                SELECT o.vehicle_id, o.opened_at AS at, o.mileage_in AS km
                FROM workshop_repairjob j JOIN workshop_repairorder o ON o.id = j.order_id
                WHERE o.status IN ('delivered', 'closed') AND j.job_type = 'maintenance'{not_declined}{limited('o.vehicle_id')}
                {imported}
            ) z
            GROUP BY z.vehicle_id
        ),
        b AS (
            SELECT v.id AS vehicle_id, v.owner_id AS customer_id, v.store_id, v.purchase_date, v.insurance_expiry,
                   v.warranty_end, {plans.fm} AS fm, {plans.fkm} AS fkm, {plans.im} AS im, {plans.ikm} AS ikm,
                   CASE WHEN r.n >= 2 AND {days} >= 1 AND r.k1 > r.k0 THEN (r.k1 - r.k0) / {days}
                        ELSE pd.daily_km END AS rate,
                   COALESCE({d.local_date('r.t1')}, v.purchase_date, {d.local_date('v.created_at')}) AS base_date,
                   COALESCE(r.k1, v.current_mileage) AS base_km, r.t1, s.at AS s_at, s.km AS s_km,
                   {d.local_date('s.at')} AS svc_date,
                   pd.fs_lead, pd.mt_lead, pd.insp_lead, pd.wty_lead, pd.hol_lead
            FROM (
                SELECT v.id, v.owner_id, COALESCE(v.selling_store_id, c.home_store_id) AS store_id, v.make, v.model,
                       v.purchase_date, v.current_mileage, v.created_at, v.insurance_expiry, v.warranty_end
                FROM vehicles_vehicle v JOIN customers_customer c ON c.id = v.owner_id
                WHERE c.anonymised_at IS NULL{limited('v.id')}
            ) v
            {plans.joins}
            LEFT JOIN r ON r.vehicle_id = v.id
            LEFT JOIN s ON s.vehicle_id = v.id
            WHERE COALESCE(pd.store_id, 0) <> 0  -- the vehicles of the stores (see _plan_values)
            {keep}
        ),
        c AS (
            SELECT b.*, {d.add_months('b.purchase_date', 'b.fm')} AS first_time, {date_at_km('b.fkm', 'b')} AS first_km_date,
                   {d.add_months('b.svc_date', 'b.im')} AS next_time, ({svc_km} + b.ikm) AS next_km
            FROM b {keep}
        ),
        e AS (
            SELECT c.*, {d.least('c.first_time', 'COALESCE(c.first_km_date, c.first_time)')} AS fs_due_any,
                   {d.least('c.next_time', f"COALESCE({date_at_km('c.next_km', 'c')}, c.next_time)")} AS mt_any
            FROM c {keep}
        )
        SELECT e.vehicle_id, e.customer_id, e.store_id, e.purchase_date, e.insurance_expiry, e.warranty_end,
               {d.month('e.purchase_date')} * 100 + {d.day('e.purchase_date')} AS anniversary,
               CASE WHEN e.purchase_date IS NOT NULL AND (e.s_at IS NULL OR e.svc_date < e.purchase_date)
                    THEN e.fs_due_any END AS fs_due,
               e.fkm AS fs_km,
               CASE WHEN e.s_at IS NOT NULL AND (e.purchase_date IS NULL OR e.svc_date >= e.purchase_date)
                    THEN e.mt_any END AS mt_due,
               CASE WHEN e.s_at IS NOT NULL THEN e.next_km END AS mt_km,
               e.svc_date AS last_service, e.fs_due_any,
               e.fs_lead, e.mt_lead, e.insp_lead, e.wty_lead, e.hol_lead
        FROM e
    """  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    return sql, plans.params


def build_due_table(store_ids: list[int], today: dt.date, zone: zoneinfo.ZoneInfo, table: str = "care_due",
                    purchased_since: dt.date | None = None) -> int:
    """Create (TEMP) ``table``: one row per vehicle of the stores with its projected due dates (:func:`due_select`).
    Returns the row count. ``purchased_since`` limits it to cars bought since that date (the coverage report needs
    only new cars)."""
    d = Dialect(connection.vendor, zone, today)
    _ensure_settings(store_ids)
    only = f"SELECT x.id FROM vehicles_vehicle x WHERE x.purchase_date >= {d.lit(purchased_since)}" if purchased_since else ""  # noqa: S608
    select, params = due_select(d, store_ids, only)
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        if d.pg:
            cur.execute("SET LOCAL jit = off")  # the caller's transaction scopes the setting
        cur.execute(f"CREATE TEMP TABLE {table} AS {select}", params)
        if d.pg:
            cur.execute(f"ANALYZE {table}")  # temporary tables are never auto-analysed: give the planner the row count
        cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        return int(cur.fetchone()[0])


# ---- the persistent due-date table ----------------------------------------------------------------------------
@dataclass
class DueRefresh:
    vehicles: int = 0  # rows computed
    rebuilt: bool = False
    reason: str = ""  # why it was rebuilt
    changed: int = 0  # vehicles found changed (a refresh)


def _fingerprint(by_zone: dict[str, list[int]], today: dt.date) -> str:
    """What the due dates are computed from besides each vehicle's own data: the plans, the stores' assumed daily
    distance, the stores and their zones (and on SQLite the zone's offset of the day), the SQL's version."""
    from aftersales.stores.models import Store

    from .models import CareSettings, MaintenancePlan

    ids = sorted(i for group in by_zone.values() for i in group)
    groups = set(Store.objects.filter(pk__in=ids).values_list("group_id", flat=True))
    data = {
        "version": DUE_VERSION, "vendor": connection.vendor, "jobs_status": _jobs_have_status(),
        "zones": {z: sorted(group) for z, group in sorted(by_zone.items())},
        "offsets": {z: Dialect(connection.vendor, zoneinfo.ZoneInfo(z), today).offset_minutes for z in sorted(by_zone)}
        if connection.vendor != "postgresql" else {},
        "plans": sorted(
            MaintenancePlan.objects.filter(group_id__in=groups).values_list(
                "group_id", "store_id", "make", "model", "first_service_months", "first_service_km", "interval_months",
                "interval_km",
            ),
            key=repr,
        ),
        "daily_km": sorted(CareSettings.objects.filter(store_id__in=ids).values_list("store_id", "default_daily_km")),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


#: the tables whose new rows (by id) change a vehicle's due dates, with the query of the vehicles they touch
ID_MARKS = {
    "reading": ("vehicles_mileagereading", "SELECT m.vehicle_id FROM vehicles_mileagereading m WHERE m.id > %s"),
    "order": ("workshop_repairorder", "SELECT o.vehicle_id FROM workshop_repairorder o WHERE o.id > %s"),
    "order_event": ("workshop_repairorderevent", "SELECT o.vehicle_id FROM workshop_repairorderevent e "
                    "JOIN workshop_repairorder o ON o.id = e.order_id WHERE e.id > %s"),
    "job": ("workshop_repairjob", "SELECT o.vehicle_id FROM workshop_repairjob j JOIN workshop_repairorder o ON o.id = j.order_id "
            "WHERE j.id > %s"),
    "imported": ("engagement_importedvisit", "SELECT iv.vehicle_id FROM engagement_importedvisit iv WHERE iv.id > %s "
                 "AND iv.vehicle_id IS NOT NULL"),
    "job_event": ("workshop_repairjobevent", "SELECT o.vehicle_id FROM workshop_repairjobevent e JOIN workshop_repairjob j "
                  "ON j.id = e.job_id JOIN workshop_repairorder o ON o.id = j.order_id WHERE e.id > %s"),
}


def _marks() -> dict[str, Any]:
    out: dict[str, Any] = {"at": timezone.now().isoformat()}
    with connection.cursor() as cur:
        for name, (table, _sql) in ID_MARKS.items():
            cur.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608 (table names from the code)
            out[name] = int(cur.fetchone()[0] or 0)
    return out


def _changed_vehicles_sql(since: dict[str, Any]) -> tuple[str, list[Any]]:
    """The vehicles whose inputs changed since ``since`` (marks): the vehicle or its owner saved (``updated_at``),
    a new reading, order or job, an order or job that moved state (their event rows)."""
    at = dt.datetime.fromisoformat(since["at"])
    parts = [
        "SELECT v.id FROM vehicles_vehicle v WHERE v.updated_at >= %s",
        "SELECT v.id FROM vehicles_vehicle v JOIN customers_customer c ON c.id = v.owner_id WHERE c.updated_at >= %s",
    ]
    params: list[Any] = [at, at]
    for name, (_table, sql) in ID_MARKS.items():
        parts.append(sql)
        params.append(int(since.get(name, 0)))
    return " UNION ".join(parts), params


def refresh_due(*, today: dt.date, full: bool = False) -> DueRefresh:
    """Bring ``VehicleDue`` up to date for every vehicle of the active stores; the caller holds the transaction.

    Rebuilt in full when asked, when it is empty, when what it is computed from changed (:func:`_fingerprint`),
    when the last rebuild is older than ``FULL_REBUILD_DAYS`` (a safety net for a change made behind the
    application's back) or when more than ``REBUILD_SHARE`` of the vehicles changed (``REBUILD_MIN`` at least); otherwise computed again only
    for the vehicles that changed since the sweep before the last (:func:`_changed_vehicles_sql`). Concurrent sweeps
    queue on the state row.
    """
    from .models import DueTableState, VehicleDue

    DueTableState.objects.get_or_create(pk=1)
    state = DueTableState.objects.select_for_update().get(pk=1)
    by_zone = zones()
    all_ids = sorted(i for group in by_zone.values() for i in group)
    _ensure_settings(all_ids)
    fingerprint = _fingerprint(by_zone, today)
    marks = _marks()
    now = timezone.now()
    total = VehicleDue.objects.count()
    reason = (
        "asked" if full else "first" if not state.marks_before or state.rebuilt_at is None
        else "inputs" if state.fingerprint != fingerprint
        else "age" if now - state.rebuilt_at > dt.timedelta(days=FULL_REBUILD_DAYS)
        else "empty" if not total else ""
    )
    out = DueRefresh()
    cols = ", ".join(DUE_COLUMNS)
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if pg:
            cur.execute("SET LOCAL jit = off")  # a once-a-day statement: compiling it costs more than it saves
            cur.execute(f"SET LOCAL work_mem = '{DUE_WORK_MEM}'")  # hash the readings and orders in memory
            cur.execute(f"SET LOCAL maintenance_work_mem = '{DUE_WORK_MEM}'")  # and sort the rebuilt indexes
        only = ""
        if not reason:
            changed, params = _changed_vehicles_sql(state.marks_before)
            cur.execute("DROP TABLE IF EXISTS care_changed")
            cur.execute(f"CREATE TEMP TABLE care_changed AS {changed}", params)
            cur.execute("SELECT COUNT(*) FROM care_changed")
            out.changed = int(cur.fetchone()[0])
            if out.changed > max(REBUILD_MIN, REBUILD_SHARE * total):
                reason = "many"  # e.g. after an import: one pass over everything is cheaper than a lookup per vehicle
            elif out.changed:
                if pg:
                    cur.execute("ANALYZE care_changed")
                cur.execute("DELETE FROM care_vehicledue WHERE vehicle_id IN (SELECT id FROM care_changed)")
                only = "SELECT id FROM care_changed"
        out.rebuilt, out.reason = bool(reason), reason
        if reason:
            cur.execute("TRUNCATE care_vehicledue" if pg else "DELETE FROM care_vehicledue")
        indexes: list[str] = []
        if reason and pg:
            # a million rows are written faster without the date indexes, which are then built in one pass each
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'care_vehicledue' AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = 'care_vehicledue'::regclass)"
            )
            for name, definition in cur.fetchall():
                cur.execute(f'DROP INDEX "{name}"')
                indexes.append(definition)
        if reason or out.changed:
            for zone_name, ids in by_zone.items():
                d = Dialect(connection.vendor, zoneinfo.ZoneInfo(zone_name), today)
                select, params = due_select(d, ids, only)
                cur.execute(f"INSERT INTO care_vehicledue ({cols}) SELECT {cols} FROM ({select}) x", params)  # noqa: S608
                out.vehicles += max(cur.rowcount, 0)
        for definition in indexes:
            cur.execute(definition)
        cur.execute("DROP TABLE IF EXISTS care_changed")
        if reason and pg:
            cur.execute("ANALYZE care_vehicledue")
    state.fingerprint = fingerprint
    if reason:
        state.rebuilt_at = now
        state.marks_before = marks
    else:
        state.marks_before = state.marks
    state.marks = marks
    state.save()
    return out


def _window_days(start: dt.date, days: int) -> list[int]:
    """MMDD of every day from ``start`` to ``start + days``; a purchase on 29 February has its anniversary on the 28th
    in other years (the month arithmetic of both databases), so a non-leap 28 February also brings 229."""
    out: set[int] = set()
    for i in range(days + 1):
        day = start + dt.timedelta(days=i)
        out.add(day.month * 100 + day.day)
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            out.add(229)
    return sorted(out)


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


def insert_reminders(store_ids: list[int], today: dt.date, zone: zoneinfo.ZoneInfo, result: SweepResult) -> None:
    """Write the reminders that fall due ``today`` for the vehicles of the stores, from ``VehicleDue`` (see
    :func:`refresh_due`). Each type reads only the rows whose date is in its window (the table's indexes)."""
    from .models import CareSettings

    d = Dialect(connection.vendor, zone, today)
    t = d.lit(today)
    grace = d.lit(today - dt.timedelta(days=GRACE_DAYS))
    store_in = ",".join(str(int(i)) for i in store_ids)
    settings = list(CareSettings.objects.filter(store_id__in=store_ids))
    if not settings:
        return

    def upto(attr: str) -> str:
        """The last due date whose window (lead days before it) may open today, over the stores."""
        return d.lit(today + dt.timedelta(days=max(getattr(cs, attr) for cs in settings)))

    due = f"care_vehicledue u JOIN care_caresettings cs ON cs.store_id = u.store_id AND u.store_id IN ({store_in})"

    def run(kind: str, select_sql: str) -> None:
        started = time.perf_counter()
        with connection.cursor() as cur:
            result.created[kind] += _insert(cur, d, kind, today, select_sql)
        result.timings[str(kind)] += time.perf_counter() - started

    # first service: 3 days before it is due; once per vehicle
    run(ReminderKind.FIRST_SERVICE, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.fs_due AS due_date, cs.first_service_lead_days AS lead_days,
               u.fs_km AS due_km, '' AS detail
        FROM {due}
        WHERE u.fs_due >= {grace} AND u.fs_due <= {upto('first_service_lead_days')}
          AND {d.add_days('u.fs_due', '-cs.first_service_lead_days')} <= {t}
          AND NOT EXISTS (SELECT 1 FROM care_reminder e WHERE e.vehicle_id = u.vehicle_id AND e.kind = 'first_service')
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # maintenance due: once per service cycle (no reminder since the last service)
    run(ReminderKind.MAINTENANCE, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.mt_due AS due_date, cs.maintenance_lead_days AS lead_days,
               u.mt_km AS due_km, '' AS detail
        FROM {due}
        WHERE u.mt_due >= {grace} AND u.mt_due <= {upto('maintenance_lead_days')}
          AND {d.add_days('u.mt_due', '-cs.maintenance_lead_days')} <= {t}
          AND NOT EXISTS (SELECT 1 FROM care_reminder e WHERE e.vehicle_id = u.vehicle_id AND e.kind = 'maintenance'
                          AND e.due_date > u.last_service)
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # insurance expiry: one reminder per lead (default 30 and 7 days before), each in its own window
    by_offsets: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for cs in settings:
        by_offsets[tuple(cs.insurance_offsets())].append(cs.store_id)
    for offsets, ids in by_offsets.items():
        ids_in = ",".join(str(int(i)) for i in ids)
        for i, lead in enumerate(offsets):
            upper = offsets[i + 1] + 1 if i + 1 < len(offsets) else 0  # fire until the next lead's window opens
            # lead days before expiry <= today <= upper days before it: expiry between today + upper and today + lead
            run(ReminderKind.INSURANCE, f"""
                SELECT u.store_id, u.customer_id, u.vehicle_id, u.insurance_expiry AS due_date, {int(lead)} AS lead_days,
                       CAST(NULL AS INTEGER) AS due_km, '' AS detail
                FROM care_vehicledue u
                WHERE u.store_id IN ({ids_in})
                  AND u.insurance_expiry >= {d.lit(today + dt.timedelta(days=int(upper)))}
                  AND u.insurance_expiry <= {d.lit(today + dt.timedelta(days=int(lead)))}
            """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # warranty end
    run(ReminderKind.WARRANTY, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, u.warranty_end AS due_date, cs.warranty_lead_days AS lead_days,
               CAST(NULL AS INTEGER) AS due_km, '' AS detail
        FROM {due}
        WHERE u.warranty_end >= {t} AND u.warranty_end <= {upto('warranty_lead_days')}
          AND {d.add_days('u.warranty_end', '-cs.warranty_lead_days')} <= {t}
    """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # annual inspection and purchase anniversary: this year's or next year's anniversary of the purchase date; only
    # the cars whose purchase day (MMDD) falls in the window are looked at
    longest_inspection = max(cs.inspection_lead_days for cs in settings)
    for kind, lead_col, years_rule, window in (
        (ReminderKind.INSPECTION, "cs.inspection_lead_days", INSPECTION_YEARS, longest_inspection),
        (ReminderKind.ANNIVERSARY, "0", "N >= 1", 0),
    ):
        rule = years_rule.replace("N", "a.n")
        candidates = f" AND u.anniversary IN ({','.join(map(str, _window_days(today, window)))})" if window < 366 else ""
        run(kind, f"""
            SELECT a.store_id, a.customer_id, a.vehicle_id, a.due_date, a.lead_days, CAST(NULL AS INTEGER) AS due_km,
                   CAST(a.n AS TEXT) AS detail
            FROM (
                SELECT u.store_id, u.customer_id, u.vehicle_id, {lead_col} AS lead_days, k.k + {d.year(t)} - {d.year('u.purchase_date')} AS n,
                       {d.add_months('u.purchase_date', f"12 * (k.k + {d.year(t)} - {d.year('u.purchase_date')})")} AS due_date
                FROM {due} CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) k
                WHERE u.purchase_date IS NOT NULL{candidates}
            ) a
            WHERE a.n >= 1 AND ({rule}) AND {d.add_days('a.due_date', '-a.lead_days')} <= {t} AND a.due_date >= {t}
        """)  # noqa: S608 (SQL built from code: column names, integers and formatted dates)
    # holidays: before the first day of each closed holiday of the vehicle's store
    run(ReminderKind.HOLIDAY, f"""
        SELECT u.store_id, u.customer_id, u.vehicle_id, h.date AS due_date, cs.holiday_lead_days AS lead_days,
               CAST(NULL AS INTEGER) AS due_km, h.name AS detail
        FROM {due} JOIN stores_holiday h ON h.store_id = u.store_id AND h.kind = 'closed'
        WHERE {d.add_days('h.date', '-cs.holiday_lead_days')} <= {t} AND h.date >= {t}
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
