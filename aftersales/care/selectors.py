"""Reads for the care calendar, the coverage report and the playbooks, scoped to the acting user's stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from aftersales.common.errors import NotFound
from aftersales.common.scoping import get_or_404, restrict_to_stores, visible_store_ids

from .choices import ReminderKind, ReminderStatus
from .models import Enrolment, Playbook, Reminder

#: statuses meaning the customer was reached (a message queued or sent, a call, a booking)
REACHED = (ReminderStatus.SENT, ReminderStatus.CALLED, ReminderStatus.BOOKED)


def _declined_jobs_due(*, store_ids: list[int], today: dt.date, delays: dict[int, int]) -> list[dict[str, Any]]:
    """Jobs a customer declined whose resurfacing date (the visit + the store's delay) is today or up to 30 days ago.

    The workshop app is gaining a job status; until ``RepairJob`` has a ``status`` field there are no declined jobs
    and this returns nothing. With the field, a job is declined when ``status == "declined"``.
    """
    from aftersales.workshop.models import RepairJob

    if "status" not in {f.name for f in RepairJob._meta.get_fields()}:
        return []
    out: list[dict[str, Any]] = []
    if not delays:
        return out
    longest = max(delays.values())
    earliest = today - dt.timedelta(days=longest + 30)
    rows = (
        RepairJob.objects.filter(status="declined", order__store_id__in=store_ids, order__opened_at__date__gte=earliest)
        .values("id", "title", "order__store_id", "order__customer_id", "order__vehicle_id", "order__opened_at")
        .order_by("order__opened_at", "id")
    )
    for row in rows:
        store_id = row["order__store_id"]
        from django.utils import timezone

        visit_day = timezone.localtime(row["order__opened_at"]).date()
        due = visit_day + dt.timedelta(days=delays.get(store_id, 30))
        if due <= today <= due + dt.timedelta(days=30):
            out.append({
                "store_id": store_id, "customer_id": row["order__customer_id"], "vehicle_id": row["order__vehicle_id"],
                "title": row["title"], "due_date": due,
            })
    return out


def reminders_for(user: Any, *, store: Any, start: dt.date, end: dt.date, kind: str = "") -> QuerySet[Reminder]:
    """Reminders of ``store`` due between ``start`` and ``end`` (inclusive), for the care calendar."""
    qs = restrict_to_stores(Reminder.objects.filter(store=store), user).filter(due_date__gte=start, due_date__lte=end)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("customer", "vehicle", "message", "action_by").order_by("due_date", "kind", "id")


#: how far back the care calendar's overdue list looks
OVERDUE_DAYS = 90


def reminders_overdue(user: Any, *, store: Any, day: dt.date) -> QuerySet[Reminder]:
    """Reminders of ``store`` whose date passed before ``day`` (up to ``OVERDUE_DAYS`` back) and that nobody has closed
    (not booked, not dismissed): what the call centre still has to chase, oldest first."""
    qs = restrict_to_stores(Reminder.objects.filter(store=store), user).filter(
        due_date__lt=day, due_date__gte=day - dt.timedelta(days=OVERDUE_DAYS),
        status__in=(ReminderStatus.DUE, ReminderStatus.SENT, ReminderStatus.CALLED),
    )
    return qs.select_related("customer", "vehicle", "message", "action_by").order_by("due_date", "kind", "id")


def reminders_sent_on(user: Any, *, store: Any, day: dt.date) -> QuerySet[Reminder]:
    return (
        restrict_to_stores(Reminder.objects.filter(store=store, remind_on=day), user)
        .select_related("customer", "vehicle", "message", "action_by").order_by("kind", "due_date", "id")
    )


def reminder_get(user: Any, pk: int) -> Reminder:
    return get_or_404(restrict_to_stores(Reminder.objects.select_related("store", "customer", "vehicle"), user), pk=pk)


def counts_by_kind(qs: QuerySet[Reminder]) -> list[dict[str, Any]]:
    """Per reminder type: how many, and how many per action taken."""
    rows = qs.order_by().values("kind").annotate(
        total=Count("id"),
        due=Count("id", filter=Q(status=ReminderStatus.DUE)),
        sent=Count("id", filter=Q(status=ReminderStatus.SENT)),
        called=Count("id", filter=Q(status=ReminderStatus.CALLED)),
        booked=Count("id", filter=Q(status=ReminderStatus.BOOKED)),
        dismissed=Count("id", filter=Q(status=ReminderStatus.DISMISSED)),
    )
    labels = dict(ReminderKind.choices)
    return sorted(({**r, "label": labels.get(r["kind"], r["kind"])} for r in rows), key=lambda r: list(labels).index(r["kind"]))


def first_service_coverage(user: Any, *, store: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Share of vehicles whose first service fell due in [start, end] (and had not been serviced before the
    reminder day) that got a reminder (SPEC §11 target: 100%). Set-based: the same due-date SQL as the sweep."""
    from .sweep import build_due_table

    if store.pk not in visible_store_ids(user):
        raise NotFound("not_found", _("Not found, or not visible to you."), "store")
    table = "care_due_cov"
    # a first service falls due at most a few months after purchase: only cars bought in the two years before
    build_due_table([store.pk], end, store.zone, table=table, purchased_since=start - dt.timedelta(days=731))
    lit = "DATE '%s'" if connection.vendor == "postgresql" else "'%s'"
    lead_expr = (
        "(u.fs_due_any - u.fs_lead)" if connection.vendor == "postgresql" else "date(u.fs_due_any, (-u.fs_lead) || ' days')"
    )
    sql = f"""
        SELECT COUNT(*),
               SUM(CASE WHEN EXISTS (SELECT 1 FROM care_reminder e WHERE e.vehicle_id = u.vehicle_id
                                     AND e.kind = 'first_service' AND e.status IN ('sent', 'called', 'booked'))
                        THEN 1 ELSE 0 END)
        FROM {table} u
        WHERE u.fs_due_any >= {lit % start.isoformat()} AND u.fs_due_any <= {lit % end.isoformat()}
          AND (u.last_service IS NULL OR u.last_service < u.purchase_date OR u.last_service >= {lead_expr})
    """  # noqa: S608 (dates formatted here, no user text)
    with connection.cursor() as cur:
        cur.execute(sql)
        due, reached = cur.fetchone()
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    due, reached = int(due or 0), int(reached or 0)
    return {"due": due, "reached": reached, "rate": (reached / due) if due else None, "start": start, "end": end}


def playbooks_for(user: Any, *, store: Any = None, campaigns: bool | None = None) -> QuerySet[Playbook]:
    qs = restrict_to_stores(Playbook.objects.select_related("store"), user)
    if store is not None:
        qs = qs.filter(store=store)
    if campaigns is not None:
        qs = qs.filter(is_campaign=campaigns)
    return qs.order_by("store_id", "is_campaign", "code")


def playbook_get(user: Any, pk: int) -> Playbook:
    return get_or_404(restrict_to_stores(Playbook.objects.select_related("store"), user), pk=pk)


def enrolments_for(user: Any, playbook: Playbook) -> QuerySet[Enrolment]:
    return restrict_to_stores(Enrolment.objects.filter(playbook=playbook), user).select_related("customer")


def care_dates_for(vehicles: list[Any], *, today: dt.date) -> list[dict[str, Any]]:
    """What is due next for these vehicles (the customer 360 page), soonest first: the first service or the next
    maintenance as the daily sweep projected them (``VehicleDue``), the insurance expiry (also when it lapsed in the
    last 30 days) and the warranty end while it is ahead. Past warranty ends are history, not reminders."""
    from .models import VehicleDue

    by_id = {v.pk: v for v in vehicles}
    due = {row.vehicle_id: row for row in VehicleDue.objects.filter(vehicle_id__in=list(by_id))}
    out: list[dict[str, Any]] = []
    for vehicle in vehicles:
        row = due.get(vehicle.pk)
        if row is not None and row.fs_due:
            out.append({"vehicle": vehicle, "kind": ReminderKind.FIRST_SERVICE, "date": row.fs_due, "km": row.fs_km})
        if row is not None and row.mt_due:
            out.append({"vehicle": vehicle, "kind": ReminderKind.MAINTENANCE, "date": row.mt_due, "km": row.mt_km})
        if vehicle.insurance_expiry and vehicle.insurance_expiry >= today - dt.timedelta(days=30):
            out.append({"vehicle": vehicle, "kind": ReminderKind.INSURANCE, "date": vehicle.insurance_expiry, "km": None})
        if vehicle.warranty_end and vehicle.warranty_end >= today:
            out.append({"vehicle": vehicle, "kind": ReminderKind.WARRANTY, "date": vehicle.warranty_end, "km": None})
    labels = dict(ReminderKind.choices)
    for item in out:
        item["label"] = labels[item["kind"]]
        item["overdue"] = item["date"] < today
    return sorted(out, key=lambda item: (item["date"], item["vehicle"].pk))


def segment_choices(store: Any) -> list[tuple[int, str]]:
    """The segments a playbook of ``store`` may target (the group's and the store's own), by name: the picker."""
    from .playbooks import engagement_available

    if store is None or not engagement_available():
        return []
    from aftersales.engagement.models import Segment

    qs = Segment.objects.filter(group_id=store.group_id).filter(Q(store__isnull=True) | Q(store_id=store.pk))
    return [(pk, name) for pk, name in qs.order_by("name", "id").values_list("id", "name")]


def voucher_template_choices(store: Any) -> list[tuple[int, str]]:
    """The active voucher templates a step of a playbook of ``store`` may issue, named in the reader's language."""
    from .playbooks import loyalty_available

    if store is None or not loyalty_available():
        return []
    from aftersales.common.templatetags.aftersales import localized
    from aftersales.loyalty.models import VoucherTemplate

    qs = VoucherTemplate.objects.filter(Q(store__isnull=True) | Q(store_id=store.pk), group_id=store.group_id,
                                        is_active=True).order_by("name_zh", "id")
    return [(t.pk, str(localized(t, "name"))) for t in qs]
