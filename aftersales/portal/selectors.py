"""Reads of the owner app. Every function takes the signed-in customer and returns only that customer's records;
another owner's object is simply not found (the views answer 404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.money import ZERO, q
from aftersales.workshop.choices import OrderStatus

#: the four steps the owner sees (the Chinese owners' mini-programs: 待确认 → 维修中 → 待付款 → 已完成)
STEPS = [
    ("confirm", pgettext_lazy("owner step", "To confirm")),
    ("repair", pgettext_lazy("owner step", "In repair")),
    ("pay", pgettext_lazy("owner step", "To pay")),
    ("done", pgettext_lazy("owner step", "Done")),
]
STEP_OF = {
    OrderStatus.CHECKED_IN: "confirm", OrderStatus.INSPECTING: "confirm", OrderStatus.ESTIMATE_SENT: "confirm",
    OrderStatus.WAITING_AUTH: "confirm", OrderStatus.AUTHORIZED: "repair", OrderStatus.IN_PROGRESS: "repair",
    OrderStatus.WAITING_PARTS: "repair", OrderStatus.QUALITY_CHECK: "repair", OrderStatus.READY: "pay",
    OrderStatus.DELIVERED: "done", OrderStatus.CLOSED: "done",
}
OPEN_STATES = [s for s in OrderStatus.values if s not in (OrderStatus.DELIVERED, OrderStatus.CLOSED, OrderStatus.CANCELLED)]
TIER_BENEFITS = {
    "A": [_("Priority lane when you book"), _("A dedicated service advisor"), _("Free car wash at every visit")],
    "B": [_("Free multi-point check at every service"), _("Double points on your birthday month")],
    "C": [_("Welcome check on your first visits"), _("Points on every paid visit")],
    "D": [_("Points on every paid visit")],
}


@dataclass
class Step:
    code: str
    label: Any
    state: str  # "done", "current" or "todo"


def steps_of(order: Any) -> list[Step]:
    current = STEP_OF.get(order.status, "confirm")
    codes = [c for c, _label in STEPS]
    at = codes.index(current)
    return [
        Step(code=c, label=label, state="done" if i < at or (current == "done" and i == at) else "current" if i == at else "todo")
        for i, (c, label) in enumerate(STEPS)
    ]


def cars_of(customer: Any) -> QuerySet[Any]:
    """The cars the customer owns today (a car they sold is no longer theirs: nothing after the sale)."""
    from aftersales.vehicles.models import Vehicle

    return Vehicle.objects.filter(owner=customer, group_id=customer.group_id).order_by("id")


def car_get(customer: Any, pk: Any) -> Any:
    try:
        return cars_of(customer).get(pk=int(pk))
    except (TypeError, ValueError, cars_of(customer).model.DoesNotExist) as exc:
        raise Http404 from exc


def _next_inspection(purchase: dt.date | None, today: dt.date) -> dt.date | None:
    """年检: every 2 years up to year 10 after purchase, then every year (the care sweep's rule)."""
    if purchase is None:
        return None
    for years in range(1, 40):
        try:
            day = purchase.replace(year=purchase.year + years)
        except ValueError:  # 29 February
            day = purchase.replace(year=purchase.year + years, day=28)
        if day >= today and (years % 2 == 0 or years > 10):
            return day
    return None


@dataclass
class CarCard:
    car: Any
    service_due: dt.date | None
    service_km: int | None
    inspection_due: dt.date | None
    order: Any
    steps: list[Step]


def home_cars(customer: Any, today: dt.date | None = None) -> list[CarCard]:
    """My cars with the next service, insurance and inspection dates and the open order: 3 queries for any number."""
    from aftersales.care.models import VehicleDue
    from aftersales.workshop.models import RepairOrder

    today = today or timezone.localdate()
    cars = list(cars_of(customer))
    ids = [c.pk for c in cars]
    dues = {d.vehicle_id: d for d in VehicleDue.objects.filter(vehicle_id__in=ids)}
    orders: dict[int, Any] = {}
    for order in RepairOrder.objects.filter(customer=customer, vehicle_id__in=ids, status__in=OPEN_STATES).order_by("opened_at"):
        orders[order.vehicle_id] = order
    cards = []
    for car in cars:
        due = dues.get(car.pk)
        service_due, service_km = None, None
        if due is not None:
            service_due, service_km = (due.fs_due, due.fs_km) if due.fs_due and not due.last_service else (due.mt_due, due.mt_km)
        open_order = orders.get(car.pk)
        cards.append(CarCard(
            car=car, service_due=service_due, service_km=service_km,
            inspection_due=_next_inspection(car.purchase_date, today), order=open_order,
            steps=steps_of(open_order) if open_order is not None else [],
        ))
    return cards


def orders_of(customer: Any) -> QuerySet[Any]:
    """The customer's repair orders on the cars they still own (a sold car's later orders are the new owner's)."""
    from aftersales.workshop.models import RepairOrder

    return RepairOrder.objects.filter(customer=customer, vehicle__owner=customer).select_related("store", "vehicle", "advisor")


def order_get(customer: Any, pk: Any) -> Any:
    try:
        return orders_of(customer).get(pk=int(pk))
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    except orders_of(customer).model.DoesNotExist as exc:
        raise Http404 from exc


def fitted_parts_of(customer: Any, vehicle: Any) -> list[Any]:
    """The parts fitted to the owner's car at their own visits (the parts app's record: batch / serial, origin,
    production date, warranty until date and km); parts fitted for an earlier owner are not theirs to see."""
    from aftersales.parts.reports import fitted_parts_by_vehicle

    rows = fitted_parts_by_vehicle([vehicle.pk]).get(vehicle.pk, [])
    return [row for row in rows if row.order is not None and row.order.customer_id == customer.pk]


def invoice_of_order(customer: Any, pk: Any) -> Any:
    """The invoice of one of the owner's orders (another owner's order, or one without an invoice: 404)."""
    from aftersales.billing.models import Invoice

    order = order_get(customer, pk)
    invoice = Invoice.objects.select_related("store", "customer", "order", "order__vehicle").filter(
        order=order, customer=customer).first()
    if invoice is None:
        raise Http404
    return invoice


def pay_loyalty(customer: Any, invoice: Any) -> dict[str, Any]:
    """What the owner can take off this invoice before paying online: their usable vouchers (each with the discount it
    gives here; ones that do not apply are left out) and their points (how many, at most, the store lets pay)."""
    from aftersales.common.errors import DomainError
    from aftersales.loyalty.models import Voucher
    from aftersales.loyalty.services import loyalty_settings, points_redeem_cap, voucher_check

    if invoice.status != "issued" or invoice.balance <= 0:
        return {"open": False}
    vouchers = []
    for voucher in Voucher.objects.filter(customer=customer, status="issued").select_related("template").order_by("valid_until")[:20]:
        try:
            discount = voucher_check(voucher=voucher, invoice=invoice)
        except DomainError:
            continue
        vouchers.append({"voucher": voucher, "discount": min(discount, invoice.balance)})
    rules = loyalty_settings(invoice.store)
    rate = int(rules.points_per_cny_redeemed)
    step = max(rate // 100, 1)
    cap = points_redeem_cap(invoice)
    most = min(int(customer.points_balance or 0), int(cap * rate))
    most -= most % step
    return {"open": True, "vouchers": vouchers, "points": int(customer.points_balance or 0), "rate": rate,
            "step": step, "max_points": max(most, 0), "max_value": q(Decimal(max(most, 0)) / Decimal(rate)) if rate else ZERO}


def appointments_of(customer: Any) -> QuerySet[Any]:
    from aftersales.appointments.models import Appointment

    return Appointment.objects.filter(customer=customer).select_related("store", "vehicle", "service_type", "advisor")


def appointment_get(customer: Any, pk: Any) -> Any:
    try:
        return appointments_of(customer).get(pk=int(pk))
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    except appointments_of(customer).model.DoesNotExist as exc:
        raise Http404 from exc


def upcoming_appointments(customer: Any, now: dt.datetime | None = None) -> list[Any]:
    from aftersales.appointments.choices import AppointmentStatus

    now = now or timezone.now()
    return list(appointments_of(customer).filter(status=AppointmentStatus.BOOKED, end__gte=now).order_by("start")[:5])


def notifications_of(customer: Any, now: dt.datetime | None = None) -> QuerySet[Any]:
    """The in-app inbox: every message we sent the customer (any channel), newest first, with ``is_read``."""
    from django.db.models import Exists, OuterRef

    from aftersales.messaging.models import Message

    from .models import InboxRead

    now = now or timezone.now()
    return (
        Message.objects.filter(customer=customer, not_before__lte=now)
        .exclude(kind="portal.sign_in_code").exclude(status__in=["suppressed", "cancelled"])
        .annotate(is_read=Exists(InboxRead.objects.filter(customer=customer, message_id=OuterRef("pk"))))
        .select_related("store").order_by("-created_at", "-id")
    )


def notification_get(customer: Any, pk: Any) -> Any:
    try:
        return notifications_of(customer).get(pk=int(pk))
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    except notifications_of(customer).model.DoesNotExist as exc:
        raise Http404 from exc


def unread_count(customer: Any) -> int:
    return notifications_of(customer).filter(is_read=False).count()


def loyalty_of(customer: Any, today: dt.date | None = None) -> dict[str, Any]:
    from aftersales.loyalty.models import Voucher

    today = today or timezone.localdate()
    vouchers = list(
        Voucher.objects.filter(customer=customer, status="issued", valid_until__gte=today)
        .select_related("template", "store").order_by("valid_until")[:10]
    )
    return {"points": customer.points_balance, "vouchers": vouchers}


def tier_of(customer: Any) -> dict[str, Any]:
    from aftersales.engagement.selectors import customer_tier_summary

    summary = customer_tier_summary(customer)
    return {**summary, "benefits": TIER_BENEFITS.get(summary["tier"], [])}


# ---- booking -------------------------------------------------------------------------------------------------------
def stores_for(customer: Any) -> QuerySet[Any]:
    from aftersales.stores.models import Store

    return Store.objects.filter(group_id=customer.group_id, is_active=True).order_by("id")


def store_pick(customer: Any, value: Any, stores: list[Any]) -> Any:
    """The store named by code or id (one of the customer's group), else the home store, else the first."""
    value = str(value or "").strip()
    for store in stores:
        if value and (store.code == value or str(store.pk) == value):
            return store
    for store in stores:
        if store.pk == customer.home_store_id:
            return store
    return stores[0] if stores else None


def service_types(store: Any) -> QuerySet[Any]:
    from aftersales.appointments.models import ServiceType

    return ServiceType.objects.filter(store=store, is_active=True).order_by("id")


def advisors(store: Any) -> list[Any]:
    from aftersales.appointments.availability import store_advisor_ids
    from aftersales.staff.models import User

    return list(User.objects.filter(pk__in=store_advisor_ids(store)).order_by("id"))


def parse_day(value: Any, store: Any) -> dt.date:
    today = timezone.localtime(timezone.now(), store.zone).date() if store else timezone.localdate()
    try:
        day = dt.date.fromisoformat(str(value)) if value else today
    except ValueError:
        day = today
    return min(max(day, today), today + dt.timedelta(days=90))


def free_starts(store: Any, day: dt.date, service_type: Any, advisor: Any) -> list[dt.datetime]:
    """Real free start times from the appointments engine (bays, qualified technicians, advisors), every 30 min."""
    from aftersales.appointments.availability import free_slots

    try:
        advisor_id = int(advisor) if advisor not in (None, "") else None
    except (TypeError, ValueError):
        advisor_id = None
    now = timezone.now()
    return [t for t in free_slots(store, day, service_type, advisor_id, step_minutes=30) if t > now]


# ---- follow the car ------------------------------------------------------------------------------------------------
def order_follow(customer: Any, pk: Any) -> dict[str, Any]:
    """Steps, jobs with bay and technician's first name, public notes, photos, promised time, pending approval,
    the approval history and the documents: a fixed number of queries."""
    from aftersales.estimates import selectors as estimate_selectors
    from aftersales.estimates.models import Authorization, WorkPhoto
    from aftersales.estimates.services import approval_token
    from aftersales.workshop.models import RepairJob

    order = order_get(customer, pk)
    jobs = list(RepairJob.objects.filter(order=order).select_related("bay", "technician").order_by("seq", "id"))
    for job in jobs:
        job.tech_name = first_name(job.technician)  # type: ignore[attr-defined]
    pending = estimate_selectors.sent_estimate(order)
    photos = list(WorkPhoto.objects.filter(order=order).order_by("id"))
    history = list(Authorization.objects.filter(order=order).prefetch_related("items__job").order_by("approved_at"))
    from aftersales.feedback.models import FollowUp

    followup = FollowUp.objects.filter(order=order, customer=customer, status="open").first()
    from aftersales.inspections.models import Inspection
    from aftersales.inspections.report import report_token

    inspection = Inspection.objects.filter(order=order, status="completed").order_by("-completed_at", "-id").first()
    return {
        "order": order, "steps": steps_of(order), "jobs": jobs, "photos": photos, "history": history,
        "timeline": list(reversed(estimate_selectors.status_timeline(order))),
        "pending": pending, "approve_token": approval_token(pending) if pending else "",
        "documents": documents_for(order), "zone": order.store.zone, "now": timezone.now(),
        "live": order.status in OPEN_STATES,
        "report_url": reverse("inspections:public_report", args=[report_token(inspection)]) if inspection else "",
        "survey_url": reverse("portal:order_rate", args=[order.pk]) if followup else "",
        "invoice": _invoice_to_pay(order),
    }


def _invoice_to_pay(order: Any) -> Any:
    from aftersales.billing.models import Invoice

    invoice = Invoice.objects.filter(order=order, status="issued").first()
    return invoice if invoice is not None and invoice.balance > 0 else None


def first_name(user: Any) -> str:
    """How the owner sees a technician: the given name only (姓名 → the part after the surname)."""
    if user is None:
        return ""
    given = (getattr(user, "first_name", "") or "").strip()
    if given:
        return given
    full = (getattr(user, "get_full_name", lambda: "")() or str(user)).strip()
    return full[1:] if len(full) > 1 and "\u4e00" <= full[0] <= "\u9fff" else full.split(" ")[0]


def order_photo(customer: Any, pk: Any, photo_id: Any) -> Any:
    from aftersales.estimates.models import WorkPhoto

    order = order_get(customer, pk)
    photo = WorkPhoto.objects.filter(order=order, pk=photo_id).first()
    if photo is None:
        raise Http404
    return photo


#: the documents an owner may download, and from which order state on
DOCUMENTS_FROM = {
    "repair_list": None,  # any time: what is being done
    "qc_report": ["ready", "delivered", "closed"],
    "warranty": ["delivered", "closed"],
    "invoice": ["ready", "delivered", "closed"],
}


def documents_for(order: Any) -> list[tuple[str, Any]]:
    from aftersales.billing.choices import DocumentKind

    return [
        (kind, DocumentKind(kind).label) for kind, states in DOCUMENTS_FROM.items()
        if states is None or order.status in states
    ]


# ---- points, referrals, feedback -----------------------------------------------------------------------------------
def points_ledger(customer: Any) -> list[Any]:
    from aftersales.loyalty.models import PointsEntry

    return list(PointsEntry.objects.filter(customer=customer).select_related("store").order_by("-at", "-id")[:100])


def referrals_made(customer: Any) -> list[Any]:
    from aftersales.loyalty.models import Referral

    return list(Referral.objects.filter(referrer=customer).select_related("referred", "store").order_by("-created_at")[:50])


def referral_code(customer: Any) -> str:
    """The code the owner shares: their customer number, which the advisor types into the loyalty app's referral
    form (``loyalty.selectors.customer_by_reference`` accepts it) when the friend first comes in."""
    return f"{customer.pk:06d}"


#: how the owner reads each SLA clock of their case (the staff names are about the work; these about the promise)
CLOCK_WORDS = {
    "acknowledge": pgettext_lazy("owner clock", "We confirm we received it"),
    "contact": pgettext_lazy("owner clock", "We call you back"),
    "resolve": pgettext_lazy("owner clock", "We resolve it and tell you"),
    "assess": pgettext_lazy("owner clock", "We assess your suggestion and tell you"),
    "recovery": pgettext_lazy("owner clock", "We call you about your rating"),
}


def cases_of(customer: Any) -> list[Any]:
    """The owner's cases with their SLA clocks as the owner sees them: what we promised, by when, and whether we
    kept it (done on time / done late / time left / late / paused while we wait). Two queries whatever the count."""
    from django.db.models import Prefetch

    from aftersales.feedback.models import FeedbackCase, SlaTimer

    cases = list(
        FeedbackCase.objects.filter(customer=customer).select_related("store").prefetch_related(
            Prefetch("timers", queryset=SlaTimer.objects.order_by("due_at", "id"))
        ).order_by("-created_at")[:50]
    )
    now = timezone.now()
    for case in cases:
        clocks = []
        for timer in case.timers.all():
            if timer.met_at is not None:
                state = "kept" if timer.met_at <= timer.due_at else "late_done"
            elif case.paused_at is not None:
                state = "paused"
            elif now > timer.due_at:
                state = "late"
            else:
                state = "running"
            clocks.append({
                "kind": timer.kind, "words": CLOCK_WORDS.get(timer.kind, timer.get_kind_display()),
                "due_at": timezone.localtime(timer.due_at, case.store.zone), "met_at": timer.met_at, "state": state,
                "left": timer.due_at - now if state == "running" else None,
            })
        case.clocks = clocks  # type: ignore[attr-defined]
    return cases


def followup_of_order(customer: Any, pk: Any) -> Any:
    """The follow-up survey of one of the owner's orders (another owner's order, or none: 404)."""
    from aftersales.feedback.models import FollowUp

    order = order_get(customer, pk)
    followup = FollowUp.objects.select_related("store", "order").filter(order=order, customer=customer).first()
    if followup is None:
        raise Http404
    return followup
