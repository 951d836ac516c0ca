"""The nightly tier recompute as set-based SQL (SQLite and PostgreSQL): a handful of statements, no Python loop.

1. ``CREATE TEMP TABLE … AS WITH cut, pv, agg, res SELECT …``: every customer's R/F/M, tier and reason as of D,
   from paid visits (delivered or closed repair orders with a paid invoice, and imported visits net of refunds),
   with the value class (basic / key / VIP) from the rank of M within the home store (a window function).
2. ``INSERT INTO engagement_tierchange … SELECT`` for every customer whose tier differs from the stored one.
3. ``DELETE`` from the temporary table the customers whose stored figures are unchanged, then one
   ``INSERT … SELECT … ON CONFLICT (customer_id) DO UPDATE`` (an upsert) writes the changed and new ones: a night
   rewrites only what changed. ``computed_on`` is therefore the date of the run that last changed the figures
   (``r_days`` is as of that date; the screens show R from ``last_visit`` and today). The rules are exactly those of rules.decide (tests compare the two on random populations).
"""

# The SQL below is composed only from constants of this module (table names, vendor snippets, placeholders);
# every value is a query parameter.
# ruff: noqa: S608
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from aftersales.billing.choices import InvoiceStatus
from aftersales.workshop.choices import OrderStatus

from .choices import ChangeSource
from .rules import WINDOW_MONTHS, Cutoffs, Thresholds, months_before

TEMP = "engagement_tier_run"
PG_WORK_MEM = "256MB"


def _pg() -> bool:
    return connection.vendor == "postgresql"


def local_date_sql(column: str, zone_column: str) -> str:
    """The local calendar date of an aware datetime column in the zone named by another column."""
    if _pg():
        return f"(({column}) AT TIME ZONE {zone_column})::date"
    return f"django_datetime_cast_date({column}, {zone_column}, 'UTC')"  # Django's own SQLite function


def date_param() -> str:
    return "CAST(%s AS date)" if _pg() else "%s"


def date_value(day: dt.date) -> Any:
    return day if _pg() else day.isoformat()


def amount_value(amount: Decimal) -> Any:
    # SQLite keeps decimals as REAL: compare numbers with numbers (a text parameter would compare as text).
    return amount if _pg() else float(amount)


def days_between_sql(later_param: str, earlier_column: str) -> str:
    if _pg():
        return f"({later_param} - {earlier_column})"
    return f"CAST(julianday({later_param}) - julianday({earlier_column}) AS INTEGER)"


def paid_visits_sql(customer_filter: str = "") -> str:
    """``customer_id, store_id, visit_date, amount`` of every paid visit (SQL with no parameters but the filter's)."""
    local = local_date_sql("COALESCE(ro.delivered_at, ro.opened_at)", "s.time_zone")
    ro_filter = f" AND ro.customer_id {customer_filter}" if customer_filter else ""
    iv_filter = f" AND iv.customer_id {customer_filter}" if customer_filter else ""
    return f"""
        SELECT ro.customer_id AS customer_id, ro.store_id AS store_id, {local} AS visit_date,
               inv.paid_amount - inv.refunded_amount AS amount, ro.id AS order_id
        FROM workshop_repairorder ro
        JOIN billing_invoice inv ON inv.order_id = ro.id
        JOIN stores_store s ON s.id = ro.store_id
        WHERE ro.status IN ('{OrderStatus.DELIVERED}', '{OrderStatus.CLOSED}') AND inv.status = '{InvoiceStatus.PAID}'
          AND inv.paid_amount > inv.refunded_amount{ro_filter}
        UNION ALL
        SELECT iv.customer_id, iv.store_id, iv.visit_date, iv.amount_paid - iv.amount_refunded, NULL
        FROM engagement_importedvisit iv
        WHERE iv.amount_paid > iv.amount_refunded{iv_filter}
    """


def _cut_rows(as_of: dt.date, store_ids: list[int] | None = None) -> tuple[str, list[Any]]:
    from aftersales.stores.models import Store

    from .models import TierSettings

    if store_ids is None:
        settings_by_store = {s.store_id: s for s in TierSettings.objects.all()}
        store_ids = list(Store.objects.values_list("pk", flat=True))
    else:
        settings_by_store = {s.store_id: s for s in TierSettings.objects.filter(store_id__in=store_ids)}
    rows: list[tuple[int, Thresholds]] = [(0, Thresholds())]
    rows += [(pk, Thresholds.of(settings_by_store.get(pk))) for pk in store_ids if pk]
    values, params = [], []
    d = date_param()
    for store_id, t in rows:
        cut = Cutoffs.of(as_of, t)
        values.append(f"(%s, {d}, %s, %s, {d}, {d}, %s, %s)")
        params += [
            store_id, date_value(cut.a_since), t.a_min_visits, amount_value(t.a_min_amount), date_value(cut.c_since),
            date_value(cut.d_on_or_before), t.vip_percent / 100, (t.vip_percent + t.key_percent) / 100,
        ]
    return ", ".join(values), params


def result_sql(
    as_of: dt.date, customer_ids: list[int] | None = None, store_ids: list[int] | None = None
) -> tuple[str, list[Any]]:
    """One SELECT of (customer_id, store_id, tier, reason, last_visit, r_days, f, m, visits_total, value_class).

    ``store_ids``: the customers' home stores, when known (saves a query when computing a few customers)."""
    d = date_param()
    cut_values, params = _cut_rows(as_of, store_ids)
    customer_filter, c_filter, filter_params = "", "", []
    if customer_ids is not None:
        marks = ", ".join(["%s"] * len(customer_ids)) or "NULL"
        customer_filter = f"IN ({marks})"
        c_filter = f"AND c.id IN ({marks})"
        filter_params = list(customer_ids)
    window_after = date_value(months_before(as_of, WINDOW_MONTHS))
    sql = f"""
    WITH cut(store_id, a_since, a_f, a_m, c_since, d_cut, vip_share, key_share) AS (VALUES {cut_values}),
    pv AS ({paid_visits_sql(customer_filter)}),
    agg AS (
        SELECT customer_id, MAX(visit_date) AS last_visit, COUNT(*) AS visits_total,
               SUM(CASE WHEN visit_date > {d} THEN 1 ELSE 0 END) AS f,
               ROUND(SUM(CASE WHEN visit_date > {d} THEN amount ELSE 0 END), 2) AS m
        FROM pv WHERE visit_date <= {d} GROUP BY customer_id
    ),
    res AS (
        SELECT c.id AS customer_id, c.home_store_id AS store_id, agg.last_visit AS last_visit,
               COALESCE(agg.visits_total, 0) AS visits_total, COALESCE(agg.f, 0) AS f, COALESCE(agg.m, 0) AS m,
               cut.vip_share AS vip_share, cut.key_share AS key_share,
               CASE
                 WHEN agg.last_visit IS NOT NULL AND agg.last_visit <= cut.d_cut THEN 'd_lapsed'
                 WHEN agg.last_visit IS NULL AND EXISTS (
                     SELECT 1 FROM vehicles_vehicle vh WHERE vh.owner_id = c.id AND vh.purchase_date <= cut.d_cut
                 ) THEN 'd_never_visited'
                 WHEN agg.last_visit >= cut.a_since AND agg.f >= cut.a_f AND agg.m >= cut.a_m THEN 'a_loyal'
                 WHEN agg.last_visit IS NULL THEN 'c_no_visit'
                 WHEN agg.visits_total = 1 AND agg.last_visit >= cut.c_since THEN 'c_first_visit'
                 ELSE 'b_active'
               END AS reason
        FROM customers_customer c
        JOIN cut ON cut.store_id = COALESCE(c.home_store_id, 0)
        LEFT JOIN agg ON agg.customer_id = c.id
        WHERE 1 = 1 {c_filter}
    ),
    ranked AS (
        SELECT res.*, CUME_DIST() OVER (PARTITION BY store_id ORDER BY m DESC) AS value_rank FROM res
    )
    SELECT customer_id, store_id, UPPER(SUBSTR(reason, 1, 1)) AS tier, reason, last_visit,
           {days_between_sql(d, "last_visit")} AS r_days, f, m, visits_total,
           CASE WHEN m > 0 AND value_rank <= vip_share THEN 'vip'
                WHEN m > 0 AND value_rank <= key_share THEN 'key'
                ELSE 'basic' END AS value_class
    FROM ranked
    """
    # parameter order follows the text: cut values, pv filters, agg dates, res filter, r_days date
    params += filter_params * 2
    params += [window_after, window_after, date_value(as_of)]
    params += filter_params
    params += [date_value(as_of)]
    return sql, params


def recompute_all(*, as_of: dt.date, source: str = ChangeSource.NIGHTLY) -> dict[str, Any]:
    """Recompute every customer's tier as of ``as_of``; record a TierChange for every change. Returns counts."""
    d = date_param()
    select, params = result_sql(as_of)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        if _pg():  # this transaction only: sort and hash in memory instead of spilling to disk (default 4 MB)
            cursor.execute(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
        cursor.execute(f"DROP TABLE IF EXISTS {TEMP}")
        cursor.execute("SELECT COUNT(*) FROM engagement_customertier")
        known = cursor.fetchone()[0]
        clock = time.perf_counter()
        cursor.execute(f"CREATE TEMP TABLE {TEMP} AS {select}", params)
        if _pg():  # temporary tables are never auto-analysed: without statistics the joins below go quadratic
            cursor.execute(f"ANALYZE {TEMP}")
        steps = {"compute_s": time.perf_counter() - clock}
        clock = time.perf_counter()
        cursor.execute(f"""
            INSERT INTO engagement_tierchange
                (customer_id, store_id, old_tier, new_tier, changed_on, created_at, reason, last_visit, r_days, f, m, source)
            SELECT r.customer_id, r.store_id, COALESCE(ct.tier, ''), r.tier, {d}, %s, r.reason, r.last_visit, r.r_days,
                   r.f, r.m, %s
            FROM {TEMP} r LEFT JOIN engagement_customertier ct ON ct.customer_id = r.customer_id
            WHERE ct.tier IS NULL OR ct.tier <> r.tier
        """, [date_value(as_of), now, source])
        changed = cursor.rowcount
        steps["changes_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        # Rows whose figures are unchanged are not rewritten (most customers, most nights): drop them from the run.
        same = "IS NOT DISTINCT FROM" if _pg() else "IS"
        cursor.execute(f"""
            DELETE FROM {TEMP} WHERE EXISTS (
                SELECT 1 FROM engagement_customertier ct WHERE ct.customer_id = {TEMP}.customer_id
                AND ct.tier = {TEMP}.tier AND ct.reason = {TEMP}.reason AND ct.f = {TEMP}.f AND ct.m = {TEMP}.m
                AND ct.visits_total = {TEMP}.visits_total AND ct.value_class = {TEMP}.value_class
                AND ct.last_visit {same} {TEMP}.last_visit AND ct.store_id {same} {TEMP}.store_id)
        """)
        steps["unchanged_s"] = time.perf_counter() - clock
        clock = time.perf_counter()
        # One upsert for existing and new customers (PostgreSQL and SQLite ≥ 3.24; "WHERE 1 = 1" keeps SQLite's
        # parser from reading ON CONFLICT as a join constraint).
        cursor.execute(f"""
            INSERT INTO engagement_customertier
                (customer_id, store_id, tier, reason, last_visit, r_days, f, m, visits_total, value_class, computed_on, since)
            SELECT r.customer_id, r.store_id, r.tier, r.reason, r.last_visit, r.r_days, r.f, r.m, r.visits_total,
                   r.value_class, {d}, {d}
            FROM {TEMP} r WHERE 1 = 1
            ON CONFLICT (customer_id) DO UPDATE SET
                since = CASE WHEN engagement_customertier.tier = excluded.tier THEN engagement_customertier.since
                             ELSE excluded.since END,
                tier = excluded.tier, reason = excluded.reason, store_id = excluded.store_id,
                last_visit = excluded.last_visit, r_days = excluded.r_days, f = excluded.f, m = excluded.m,
                visits_total = excluded.visits_total, value_class = excluded.value_class,
                computed_on = excluded.computed_on
        """, [date_value(as_of), date_value(as_of)])
        upserted = cursor.rowcount
        cursor.execute("SELECT COUNT(*) FROM engagement_customertier")
        new_rows = cursor.fetchone()[0] - known
        steps["upsert_s"] = time.perf_counter() - clock
        cursor.execute(f"DROP TABLE {TEMP}")
    return {"changed": changed, "written": upserted, "new": new_rows,
            **{k: round(v, 2) for k, v in steps.items()}}


def compute_rows(
    as_of: dt.date, customer_ids: list[int] | None = None, store_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """The set-based result as dicts (for tests, the bench and the report), without writing anything."""
    select, params = result_sql(as_of, customer_ids, store_ids)
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
