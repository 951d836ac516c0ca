"""Automatic tags (SPEC §10 "tags beyond tiers"), computed set-based: one DELETE and one INSERT … SELECT per tag.

They are ordinary ``customers.Tag`` rows with ``is_automatic=True`` (names ``auto:…``, shown translated), so
segments and the customer list filter on them exactly like manual tags, which this module never touches.

- new car: owns a vehicle bought less than 1 year ago; car over 3 years: owns one bought 3 years ago or more
  (the model year when the purchase date is unknown);
- frequent maintenance: 2 or more maintenance visits in the last 12 months (repair-order maintenance jobs, or
  imported visits whose items say 保养 / maintenance / service / oil);
- rare repair: came for a repair in the last 24 months but for no maintenance in the last 12;
- fault-prone vehicle: 2 or more repairs of the same system of one vehicle in 12 months, the system read from the
  job's title (SYSTEMS below: brakes, engine, gearbox, electrical, A/C, suspension, steering, cooling, tyres, body);
- EV / hybrid owner; birthday this month; insurance expiring within the store's window (default 30 days).
"""

# Composed only from this module's constants; values are parameters.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from aftersales.workshop.choices import JobType, OrderStatus

from .choices import AutoTag
from .rules import months_before
from .tiersql import date_param, date_value

#: system → words in a job title (lower case, Chinese and English) that name it
SYSTEMS: dict[str, tuple[str, ...]] = {
    "brakes": ("刹车", "制动", "brake"),
    "engine": ("发动机", "engine", "点火", "火花塞", "spark"),
    "gearbox": ("变速箱", "gearbox", "transmission", "离合", "clutch"),
    "electrical": ("电瓶", "蓄电池", "电路", "battery", "electrical", "wiring", "电池"),
    "air_con": ("空调", "a/c", "air con", "aircon"),
    "suspension": ("悬挂", "减震", "避震", "suspension", "shock"),
    "steering": ("转向", "steering"),
    "cooling": ("水箱", "冷却", "radiator", "coolant", "cooling"),
    "tyres": ("轮胎", "tyre", "tire"),
    "body": ("钣金", "喷漆", "body", "paint"),
}
MAINTENANCE_WORDS = ("保养", "maintenance", "service", "oil", "机油")
_EV_FUELS = ("ev", "phev", "hybrid")


def _system_case(column: str) -> str:
    whens = []
    for system, words in SYSTEMS.items():
        cond = " OR ".join(f"{column} LIKE '%%{w}%%'" for w in words)
        whens.append(f"WHEN {cond} THEN '{system}'")
    return "CASE " + " ".join(whens) + " ELSE NULL END"


def _month_sql(column: str) -> str:
    return f"EXTRACT(MONTH FROM {column})" if connection.vendor == "postgresql" else f"CAST(SUBSTR({column}, 6, 2) AS INTEGER)"


def _queries(today: dt.date) -> dict[str, tuple[str, list[Any]]]:
    """For each automatic tag, a SELECT of the customer ids that carry it today."""
    d = date_param()
    year_ago, two_years_ago = months_before(today, 12), months_before(today, 24)
    three_years_ago = months_before(today, 36)
    since_12 = dt.datetime.combine(year_ago, dt.time(), tzinfo=dt.UTC)
    since_24 = dt.datetime.combine(two_years_ago, dt.time(), tzinfo=dt.UTC)
    done = f"ro.status IN ('{OrderStatus.DELIVERED}', '{OrderStatus.CLOSED}')"
    maint_items = " OR ".join(f"LOWER(iv.items) LIKE '%%{w}%%'" for w in MAINTENANCE_WORDS)
    maintenance_visits = f"""
        SELECT ro.customer_id AS customer_id, ro.id AS visit FROM workshop_repairorder ro
        WHERE {done} AND ro.opened_at > %s AND EXISTS (
            SELECT 1 FROM workshop_repairjob j WHERE j.order_id = ro.id AND j.job_type = '{JobType.MAINTENANCE}')
        UNION ALL
        SELECT iv.customer_id, -iv.id FROM engagement_importedvisit iv
        WHERE iv.visit_date > {d} AND ({maint_items})
    """
    from .models import TierSettings

    windows = {s.store_id: s.insurance_days for s in TierSettings.objects.all()}
    default_days = TierSettings._meta.get_field("insurance_days").default
    from aftersales.stores.models import Store

    store_rows = [(0, default_days)] + [(pk, windows.get(pk, default_days)) for pk in Store.objects.values_list("pk", flat=True)]
    ins_values = ", ".join([f"(%s, {d})"] * len(store_rows))
    ins_params: list[Any] = []
    for store_id, days in store_rows:
        ins_params += [store_id, date_value(today + dt.timedelta(days=days))]
    return {
        AutoTag.NEW_CAR: (
            f"SELECT DISTINCT v.owner_id FROM vehicles_vehicle v WHERE v.owner_id IS NOT NULL AND v.purchase_date > {d}",
            [date_value(year_ago)]),
        AutoTag.OLD_CAR: (
            f"""SELECT DISTINCT v.owner_id FROM vehicles_vehicle v WHERE v.owner_id IS NOT NULL
                AND (v.purchase_date <= {d} OR (v.purchase_date IS NULL AND v.year <= %s))""",
            [date_value(three_years_ago), today.year - 4]),
        AutoTag.FREQUENT_MAINTENANCE: (
            f"SELECT customer_id FROM ({maintenance_visits}) mv GROUP BY customer_id HAVING COUNT(*) >= 2",
            [since_12, date_value(year_ago)]),
        AutoTag.RARE_REPAIR: (
            f"""SELECT DISTINCT ro.customer_id FROM workshop_repairorder ro
                JOIN workshop_repairjob j ON j.order_id = ro.id
                WHERE {done} AND ro.opened_at > %s AND j.job_type = '{JobType.REPAIR}'
                AND ro.customer_id NOT IN (SELECT customer_id FROM ({maintenance_visits}) mv)""",
            [since_24, since_12, date_value(year_ago)]),
        AutoTag.FAULT_PRONE: (
            f"""SELECT DISTINCT customer_id FROM (
                    SELECT v.owner_id AS customer_id, ro.vehicle_id, {_system_case("LOWER(j.title)")} AS sys
                    FROM workshop_repairorder ro JOIN workshop_repairjob j ON j.order_id = ro.id
                    JOIN vehicles_vehicle v ON v.id = ro.vehicle_id
                    WHERE {done} AND ro.opened_at > %s AND j.job_type IN ('{JobType.REPAIR}', '{JobType.WARRANTY}')
                      AND v.owner_id IS NOT NULL
                ) r WHERE sys IS NOT NULL GROUP BY customer_id, vehicle_id, sys HAVING COUNT(*) >= 2""",
            [since_12]),
        AutoTag.EV_OWNER: (
            "SELECT DISTINCT v.owner_id FROM vehicles_vehicle v WHERE v.owner_id IS NOT NULL AND v.fuel_type IN ("
            + ", ".join(f"'{f}'" for f in _EV_FUELS) + ")", []),
        AutoTag.BIRTHDAY_MONTH: (
            f"SELECT c.id FROM customers_customer c WHERE c.birthday IS NOT NULL AND {_month_sql('c.birthday')} = %s",
            [today.month]),
        AutoTag.INSURANCE_EXPIRING: (
            f"""WITH win(store_id, until_day) AS (VALUES {ins_values})
                SELECT DISTINCT v.owner_id FROM vehicles_vehicle v
                JOIN customers_customer c ON c.id = v.owner_id
                JOIN win ON win.store_id = COALESCE(c.home_store_id, 0)
                WHERE v.insurance_expiry >= {d} AND v.insurance_expiry <= win.until_day""",
            [*ins_params, date_value(today)]),
    }


def ensure_auto_tags(group_ids: list[int] | None = None) -> dict[tuple[int, str], int]:
    """The automatic Tag rows of every group: {(group_id, name): tag_id}."""
    from aftersales.customers.models import Tag
    from aftersales.stores.models import DealerGroup

    groups = group_ids if group_ids is not None else list(DealerGroup.objects.values_list("pk", flat=True))
    have = {(g, n): pk for pk, g, n in Tag.objects.filter(name__in=AutoTag.values).values_list("pk", "group_id", "name")}
    missing = [Tag(group_id=g, name=n, is_automatic=True) for g in groups for n in AutoTag.values if (g, n) not in have]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        have = {(g, n): pk for pk, g, n in Tag.objects.filter(name__in=AutoTag.values).values_list("pk", "group_id", "name")}
    return have


def recompute_auto_tags(*, today: dt.date | None = None) -> int:
    """Rewrite every automatic tag assignment (manual tags untouched). Returns the number of assignments."""
    today = today or timezone.localdate()
    tag_ids = ensure_auto_tags()
    queries = _queries(today)
    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        ids = sorted(set(tag_ids.values()))
        if ids:
            cursor.execute(f"DELETE FROM customers_customer_tags WHERE tag_id IN ({', '.join(['%s'] * len(ids))})", ids)
        for name, (select, params) in queries.items():
            # the tag of the customer's own group: join the tag table on (group, name)
            cursor.execute(f"""
                INSERT INTO customers_customer_tags (customer_id, tag_id)
                SELECT c.id, t.id FROM customers_customer c
                JOIN customers_tag t ON t.group_id = c.group_id AND t.name = %s
                WHERE c.id IN ({select})
            """, [str(name), *params])
            total += max(cursor.rowcount, 0)
    return total


def auto_tag_label(name: str) -> str:
    """The translated label of an automatic tag, or the name itself for a manual one."""
    return str(AutoTag(name).label) if name in AutoTag.values else name
