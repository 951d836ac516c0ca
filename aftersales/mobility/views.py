"""Courtesy-car screens (staff, desk size): the fleet with its figures, booking a car against a repair order (or the
waiting list when none is free), and the booking's contract out and in on the car outline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError
from aftersales.common.scoping import restrict_to_stores
from aftersales.common.views import found, store_from_request
from aftersales.reception.choices import DamageKind

from . import selectors, services
from .choices import BookingStatus, CarCondition, ChargeRoute, Energy, Phase


def _errors(exc: DomainError) -> dict[str, str]:
    rows = exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]
    out: dict[str, str] = {}
    for row in rows:
        out.setdefault(row["field"] or "general", row["message"])
    return out


def _local_input(value: str, store: Any) -> Any:
    """A datetime-local input (the store's wall clock) as an aware datetime; anything else is passed on as typed,
    so the service names the field."""
    if not value:
        return ""
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return timezone.make_aware(naive, store.zone) if timezone.is_naive(naive) else naive


def _input_value(when: dt.datetime | None, store: Any) -> str:
    return timezone.localtime(when, store.zone).strftime("%Y-%m-%dT%H:%M") if when else ""


@login_required
@permission_required("mobility.view_courtesycar", raise_exception=True)
def fleet(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    stats = selectors.fleet_stats(request.user, store_id=store.pk)
    now = timezone.now()
    upcoming = list(selectors.bookings(request.user, store_id=store.pk)
                    .filter(status__in=(BookingStatus.BOOKED, BookingStatus.OUT)).order_by("starts_at")[:50])
    return render(request, "mobility/fleet.html", {
        "store": store, "stats": stats, "upcoming": upcoming, "now": now,
        "waiting": list(selectors.waitlist(request.user, store_id=store.pk)[:50]),
        "no_lend": list(selectors.do_not_lend(request.user).filter(store=store)[:100]),
        "energies": Energy.choices, "conditions": CarCondition.choices,
        "errors": {}, "values": {},
    })


@login_required
@permission_required("mobility.add_courtesycar", raise_exception=True)
@require_POST
def car_add(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    fields = ("plate", "vin", "model_name", "energy", "insurance_expires", "condition", "mileage", "fuel_rate", "late_rate",
              "day_rate")
    values = {f: request.POST.get(f, "").strip() for f in fields}
    try:
        car = services.courtesy_car_add(actor=request.user, store=store, **values)
    except DomainError as exc:
        stats = selectors.fleet_stats(request.user, store_id=store.pk)
        return render(request, "mobility/fleet.html", {
            "store": store, "stats": stats, "upcoming": [], "waiting": [], "no_lend": [], "energies": Energy.choices,
            "conditions": CarCondition.choices, "errors": _errors(exc), "values": values, "now": timezone.now(),
        }, status=422)
    messages.success(request, _("Courtesy car %(plate)s added to the fleet.") % {"plate": car.plate})
    return redirect(f"{request.path.rsplit('cars/', 1)[0]}?store={store.pk}")


@login_required
@permission_required("mobility.add_donotlend", raise_exception=True)
@require_POST
def no_lend_add(request: HttpRequest) -> HttpResponse:
    from aftersales.common.scoping import restrict_customers
    from aftersales.customers.models import Customer

    store = store_from_request(request)
    mobile = request.POST.get("customer", "").strip()
    customer = restrict_customers(Customer.objects.all(), request.user).filter(mobile__endswith=mobile[-11:]).first() if mobile else None
    if customer is None:
        messages.error(request, _("No customer with this mobile number."))
    else:
        try:
            services.do_not_lend_add(actor=request.user, store=store, customer=customer, reason=request.POST.get("reason", ""))
            messages.success(request, _("%(name)s is on the do-not-lend list.") % {"name": customer.name})
        except DomainError as exc:
            messages.error(request, str(exc.message))
    return redirect("mobility:fleet")


def _find_order(user: Any, number: str) -> Any:
    from aftersales.workshop.models import RepairOrder

    number = (number or "").strip()
    if not number:
        return None
    qs = restrict_to_stores(RepairOrder.objects.select_related("customer", "vehicle", "store"), user)
    return qs.filter(number=number).first() or (qs.filter(pk=int(number)).first() if number.isdigit() else None)


@login_required
@permission_required("mobility.add_courtesybooking", raise_exception=True)
def book(request: HttpRequest) -> HttpResponse:
    """Pick the repair order and the time; the free cars are listed; book one, or join the waiting list."""
    source = request.POST if request.method == "POST" else request.GET
    store = store_from_request(request)
    values = {k: source.get(k, "") for k in ("order", "starts_at", "ends_at", "notes", "car", "waitlist", "voucher")}
    order = _find_order(request.user, values["order"])
    errors: dict[str, str] = {}
    if values["order"] and order is None:
        errors["order"] = _("No repair order with this number at your stores.")
    if order is not None:
        store = order.store
    start, end = _local_input(values["starts_at"], store), _local_input(values["ends_at"], store)
    free = None
    if order is not None and isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end > start:
        free = selectors.free_cars(request.user, store_id=store.pk, starts_at=start, ends_at=end)
    if request.method == "POST" and order is not None:
        action = request.POST.get("action", "book")
        try:
            if action == "wait":
                services.waitlist_add(actor=request.user, order=order, wanted_from=start, wanted_until=end)
                messages.success(request, _("%(name)s is on the waiting list for a courtesy car.") % {"name": order.customer.name})
                return redirect("mobility:fleet")
            car = found(selectors.car, request.user, int(values["car"])) if values["car"].isdigit() else None
            if car is None:
                errors["car"] = _("Pick a car.")
            else:
                entry = found(selectors.waitlist_entry, request.user, int(values["waitlist"])) if values["waitlist"].isdigit() else None
                booking = services.courtesy_book(actor=request.user, order=order, car=car, starts_at=start, ends_at=end,
                                                 notes=values["notes"], waitlist=entry, voucher=values["voucher"])
                messages.success(request, _("Courtesy car %(plate)s booked.") % {"plate": car.plate})
                return redirect("mobility:booking", booking.pk)
        except DomainError as exc:
            errors.update(_errors(exc))
    return render(request, "mobility/book.html", {
        "store": store, "order": order, "values": values, "free": free, "errors": errors,
        "order_bookings": list(selectors.bookings(request.user, order_id=order.pk)) if order else [],
        "tier_a": services.is_tier_a(order.customer_id) if order else False,
        "vouchers": selectors.courtesy_vouchers(order.customer_id, store=store, today=timezone.localtime(timezone.now(), store.zone).date())
        if order else [],
    }, status=422 if errors and request.method == "POST" else 200)


def _booking_context(request: HttpRequest, booking: Any, errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> dict[str, Any]:
    marks = list(booking.marks.all())
    photos = list(booking.photos.all())
    can_change = request.user.has_perm("mobility.change_courtesybooking")
    phase = Phase.OUT if booking.status == BookingStatus.BOOKED else Phase.IN if booking.status == BookingStatus.OUT else ""
    defaults = {
        "mileage": str(booking.car.mileage if phase == Phase.OUT else (booking.out_mileage or "")),
        "energy": str(booking.out_energy if booking.out_energy is not None else ""),
        "ends_at": _input_value(booking.ends_at, booking.store), "signer_name": booking.customer.name,
        "deposit": "", "licence_number": "", "licence_expires": "", "damage_charge": "",
    }
    return {
        "b": booking, "store": booking.store, "can_change": can_change, "editable": bool(phase) and can_change,
        "editable_out": phase == Phase.OUT and can_change, "editable_in": phase == Phase.IN and can_change,
        "driven": (booking.in_mileage or 0) - (booking.out_mileage or 0),
        "phase": phase, "marks_out": [m for m in marks if m.phase == Phase.OUT],
        "marks_in": [m for m in marks if m.phase == Phase.IN],
        "photos_out": [p for p in photos if p.phase == Phase.OUT], "photos_in": [p for p in photos if p.phase == Phase.IN],
        "damage_kinds": DamageKind.choices, "events": list(booking.events.all()), "errors": errors or {},
        "values": {**defaults, **(values or {})}, "late_hours": services.late_hours(booking, timezone.now()) if booking.status == BookingStatus.OUT else 0,
        "route_separate": booking.charge_route == ChargeRoute.SEPARATE, "statuses": BookingStatus,
        "supplement": getattr(booking, "supplement", None) if booking.charge_route == ChargeRoute.SEPARATE else None,
        "pay_methods": [(m.value, m.label) for m in _counter_methods()],
    }


def _counter_methods() -> list[Any]:
    from aftersales.billing.choices import PaymentMethod

    return [PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.WECHAT, PaymentMethod.ALIPAY]


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def supplement_settle(request: HttpRequest, pk: int) -> HttpResponse:
    """Collect (or, a manager, waive) the supplementary charge of a booking returned after invoicing."""
    from .models import SupplementaryCharge

    booking = found(selectors.booking, request.user, pk)
    charge = SupplementaryCharge.objects.filter(booking=booking).first()
    if charge is None:
        return HttpResponse(status=404)
    try:
        services.supplement_settle(actor=request.user, charge=charge, method=request.POST.get("method", ""),
                                   reference=request.POST.get("reference", ""))
        messages.success(request, _("Supplementary charge %(n)s settled.") % {"n": charge.number})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("mobility:booking", booking.pk)


@login_required
@permission_required("mobility.view_courtesybooking", raise_exception=True)
def booking_page(request: HttpRequest, pk: int) -> HttpResponse:
    booking = found(selectors.booking, request.user, pk)
    return render(request, "mobility/booking.html", _booking_context(request, booking))


def _posted(request: HttpRequest, pk: int) -> Any:
    return found(selectors.booking, request.user, pk)


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def mark_add(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _posted(request, pk)
    try:
        services.courtesy_mark_add(actor=request.user, booking=booking, phase=request.POST.get("phase"),
                                   x=request.POST.get("x"), y=request.POST.get("y"), kind=request.POST.get("kind"),
                                   note=request.POST.get("note", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("mobility:booking", pk)


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def photo_add(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _posted(request, pk)
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            raise DomainError("required", _("Choose a photo."), "photo")
        services.courtesy_photo_add(actor=request.user, booking=booking, phase=request.POST.get("phase"),
                                    content=upload.read(), caption=request.POST.get("caption", ""))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("mobility:booking", pk)


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def hand_out(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _posted(request, pk)
    fields = ("licence_number", "licence_expires", "deposit", "mileage", "energy", "ends_at", "signature", "signer_name")
    values = {f: request.POST.get(f, "") for f in fields}
    try:
        services.courtesy_hand_out(actor=request.user, booking=booking, **{**values, "ends_at": _local_input(values["ends_at"], booking.store)})
    except DomainError as exc:
        values.pop("signature")
        return render(request, "mobility/booking.html", _booking_context(request, booking, _errors(exc), values), status=422)
    messages.success(request, _("The car is handed out. Agreed return: %(at)s.")
                     % {"at": timezone.localtime(selectors.booking(request.user, pk).ends_at, booking.store.zone).strftime("%Y-%m-%d %H:%M")})
    return redirect("mobility:booking", pk)


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def give_back(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _posted(request, pk)
    fields = ("mileage", "energy", "damage_charge", "signature", "signer_name")
    values = {f: request.POST.get(f, "") for f in fields}
    try:
        services.courtesy_return(actor=request.user, booking=booking, **values)
    except DomainError as exc:
        values.pop("signature")
        return render(request, "mobility/booking.html", _booking_context(request, booking, _errors(exc), values), status=422)
    messages.success(request, _("The car is back."))
    return redirect("mobility:booking", pk)


@login_required
@permission_required("mobility.change_courtesybooking", raise_exception=True)
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _posted(request, pk)
    try:
        services.courtesy_cancel(actor=request.user, booking=booking, reason=request.POST.get("reason", ""))
        messages.success(request, _("Booking cancelled."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("mobility:booking", pk)


@login_required
@permission_required("mobility.add_courtesybooking", raise_exception=True)
@require_POST
def waitlist_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.waitlist_cancel(actor=request.user, entry=found(selectors.waitlist_entry, request.user, pk))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("mobility:fleet")
