"""Staff screens for appointments: day and week calendar, booking by clicking a free slot, the appointment's
detail and life cycle, today's arrivals, tomorrow's preparation and the walk-in quick registration.
Thin views: selectors read, services write, domain errors land inline on the field."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftersales.common.errors import Conflict, DomainError
from aftersales.common.scoping import default_store, visible_store_ids
from aftersales.common.views import found as _found

from . import availability, selectors, services
from .choices import AppointmentStatus, BookingChannel
from .forms import BookingForm, ReasonForm, SlotPickForm, WalkInForm
from .models import Appointment, CannedJob

WALK_IN_SALT = "appointments.walk_in"
WALK_IN_MAX_AGE = 6 * 3600


def _stores(user: Any) -> list[Any]:
    from aftersales.stores.models import Store

    return list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("name", "id"))


def _store(request: HttpRequest) -> Any:
    raw = request.GET.get("store") or request.POST.get("store") or ""
    store_id = int(raw) if raw.isdigit() else None
    return _found(default_store, request.user, store_id)


def _day(request: HttpRequest, store: Any, key: str = "date") -> dt.date:
    value = parse_date(request.GET.get(key) or request.POST.get(key) or "")
    return value or timezone.localtime(timezone.now(), store.zone).date()


def _advisors(store: Any) -> list[Any]:
    from aftersales.staff.models import User

    ids = availability.store_advisor_ids(store)
    return list(User.objects.filter(pk__in=ids).order_by("id"))


def _ctx(request: HttpRequest, store: Any, **extra: Any) -> dict[str, Any]:
    return {"store": store, "stores": _stores(request.user), **extra}


def _local(value: dt.datetime, store: Any) -> dt.datetime:
    return timezone.localtime(value, store.zone)


# ---- calendar --------------------------------------------------------------------------------------------------
def _blocks(rows: list[Appointment], lo: int, hi: int, store: Any) -> list[dict[str, Any]]:
    span = max(hi - lo, 1)
    out = []
    for a in rows:
        s = max(int(a.start.timestamp()), lo)
        e = min(int(a.end.timestamp()), hi)
        out.append({
            "a": a, "left": round((s - lo) * 100 / span, 3), "width": round(max(e - s, 0) * 100 / span, 3),
            "start": _local(a.start, store), "end": _local(a.end, store),
        })
    return out


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def day_calendar(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = _store(request)
    day = _day(request, store)
    plan = availability.Capacity(store, day, 1, skill="", advisor_ids=[]).plans[day]
    rows = list(selectors.appointment_list(user, store=store, day=day).exclude(status=AppointmentStatus.CANCELLED))
    lo_day, _hi_day = selectors.local_day_range(store, day)
    if plan.periods:
        lo, hi = min(p[0] for p in plan.periods), max(p[1] for p in plan.periods)
    else:
        lo, hi = int((lo_day + dt.timedelta(hours=8)).timestamp()), int((lo_day + dt.timedelta(hours=18)).timestamp())
    for a in rows:  # a booking outside the usual hours still shows
        lo, hi = min(lo, int(a.start.timestamp())), max(hi, int(a.end.timestamp()))
    lo -= lo % 3600
    hi += (-hi) % 3600
    span = hi - lo
    hours = [
        {"label": dt.datetime.fromtimestamp(t, tz=store.zone).strftime("%H:%M"), "left": round((t - lo) * 100 / span, 3)}
        for t in range(lo, hi, 3600)
    ]
    closed = [
        {"left": round((a - lo) * 100 / span, 3), "width": round((b - a) * 100 / span, 3)}
        for a, b in _gaps(plan.periods, lo, hi)
    ]
    by_advisor = request.GET.get("by") == "advisor"
    if by_advisor:  # the advisors' view: who receives whom, and when
        mine: dict[int | None, list[Appointment]] = {}
        for a in rows:
            mine.setdefault(a.advisor_id, []).append(a)
        lanes = [{"label": str(adv), "priority": False, "blocks": _blocks(mine.get(adv.pk, []), lo, hi, store)}
                 for adv in _advisors(store)]
        if mine.get(None):
            lanes.append({"label": _("No advisor"), "priority": False, "blocks": _blocks(mine[None], lo, hi, store)})
    else:
        by_bay: dict[int, list[Appointment]] = {}
        for a in rows:
            by_bay.setdefault(a.bay_id, []).append(a)
        lanes = [{"label": b.name, "priority": b.is_priority, "blocks": _blocks(by_bay.get(b.pk, []), lo, hi, store)}
                 for b in selectors.bays_for(user, store)]
    return render(request, "appointments/day.html", _ctx(
        request, store, day=day, lanes=lanes, by_advisor=by_advisor, hours=hours, closed=closed, is_closed=not plan.periods, rows=rows,
        prev=day - dt.timedelta(days=1), next=day + dt.timedelta(days=1), today=timezone.localtime(timezone.now(), store.zone).date(),
    ))


def _gaps(periods: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out, cursor = [], lo
    for a, b in sorted(periods):
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        out.append((cursor, hi))
    return out


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def week_calendar(request: HttpRequest) -> HttpResponse:
    user = request.user
    store = _store(request)
    day = _day(request, store)
    monday = day - dt.timedelta(days=day.weekday())
    lo, _hi = selectors.local_day_range(store, monday)
    rows = list(
        selectors.appointments_visible_to(user).select_related("customer", "vehicle", "service_type", "advisor")
        .filter(store=store, start__gte=lo, start__lt=lo + dt.timedelta(days=7))
        .exclude(status=AppointmentStatus.CANCELLED).order_by("start", "id")
    )
    days = []
    for i in range(7):
        d = monday + dt.timedelta(days=i)
        items = [a for a in rows if _local(a.start, store).date() == d]
        days.append({"day": d, "items": [{"a": a, "start": _local(a.start, store)} for a in items], "count": len(items)})
    return render(request, "appointments/week.html", _ctx(
        request, store, day=day, monday=monday, days=days,
        prev=monday - dt.timedelta(days=7), next=monday + dt.timedelta(days=7),
    ))


# ---- booking -----------------------------------------------------------------------------------------------------
def _slots_context(request: HttpRequest, store: Any) -> dict[str, Any]:
    service_types = list(selectors.service_types_for(request.user, store))
    advisors = _advisors(store)
    data = request.GET.copy()
    data.setdefault("date", _day(request, store).isoformat())
    if service_types:
        data.setdefault("service_type", str(service_types[0].pk))
    form = SlotPickForm(data, service_types=service_types, advisors=advisors)
    slots: list[dict[str, Any]] = []
    service_type = None
    if form.is_valid():
        service_type = next(s for s in service_types if str(s.pk) == form.cleaned_data["service_type"])
        advisor = int(form.cleaned_data["advisor"]) if form.cleaned_data.get("advisor") else None
        for start in availability.free_slots(store, form.cleaned_data["date"], service_type, advisor):
            slots.append({"start": start, "local": _local(start, store)})
    return {"form": form, "slots": slots, "service_type": service_type,
            "advisor": form.data.get("advisor", ""), "service_types": service_types}


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
def book(request: HttpRequest) -> HttpResponse:
    """Pick a date and service type (and optionally an advisor); the free start times follow (htmx)."""
    store = _store(request)
    context = _slots_context(request, store)
    template = "appointments/_slots.html" if request.htmx else "appointments/book.html"
    return render(request, template, _ctx(request, store, **context, mode="book"))


def _customer_for(user: Any, store: Any, customer_id: Any, mobile: str) -> Any:
    from aftersales.common.validators import normalize_mobile
    from aftersales.customers.models import Customer
    from aftersales.customers.selectors import customers_visible_to

    qs = customers_visible_to(user).filter(group_id=store.group_id)
    if customer_id and str(customer_id).isdigit():
        return qs.filter(pk=int(customer_id)).first()
    if mobile:
        try:
            mobile = normalize_mobile(mobile, "mobile")
        except DomainError:
            return None
        return Customer.objects.filter(group_id=store.group_id, mobile=mobile).first()
    return None


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
def book_form(request: HttpRequest) -> HttpResponse:
    """The booking form for a chosen free start time; a lost race shows the message and the next free times."""
    user = request.user
    store = _store(request)
    params = request.POST if request.method == "POST" else request.GET
    customer = _customer_for(user, store, params.get("customer"), params.get("mobile", ""))
    vehicles = list(customer.vehicles.order_by("id")) if customer is not None else []
    jobs = list(CannedJob.objects.filter(store=store, is_active=True, service_type_id=params.get("service_type") or 0))
    initial = {k: params.get(k, "") for k in ("start", "service_type", "advisor")}
    if customer is not None:
        initial.update(mobile=customer.mobile, name=customer.name)
        if vehicles:
            initial["vehicle"] = str(vehicles[-1].pk)  # the newest car first; the agent can pick another
    form = BookingForm(request.POST or None, initial=initial, vehicles=vehicles, jobs=jobs)
    form.fields["mobile"].widget.attrs.update({  # a known mobile loads the customer's name and cars at once
        "hx-get": f"{reverse('appointments:book_form')}?{urlencode({'store': store.pk})}",
        "hx-trigger": "change, keyup changed delay:500ms", "hx-target": "#customer-fields", "hx-swap": "innerHTML",
        "hx-include": "this, [name=known]", "autocomplete": "off",
    })
    if request.method == "GET" and request.htmx and "mobile" in request.GET:
        if customer is None and not request.GET.get("known"):
            return HttpResponse(status=204)  # a new caller: leave what the agent has typed alone
        if customer is not None and not vehicles:
            form.fields["vehicle"].choices = [("", _("New vehicle (enter below)"))]
        return render(request, "appointments/_customer_fields.html", {
            "form": form, "customer": customer, "customer_vehicles": len(vehicles),
        })
    next_free: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(actor=user, store=store, channel=BookingChannel.PHONE, **form.service_kwargs())
        except Conflict as exc:
            form.add_domain_error(exc)
            next_free = [{"start": s, "local": _local(s, store)} for s in
                         (parse_datetime(x) for x in exc.extra.get("next_free", [])) if s is not None]
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            when = _local(appointment.start, store)
            messages.success(request, _("Booked %(plate)s on %(when)s.") % {
                "plate": appointment.vehicle.plate or appointment.vehicle.vin, "when": when.strftime("%Y-%m-%d %H:%M")})
            return redirect(f"{reverse('appointments:day')}?{urlencode({'store': store.pk, 'date': when.date().isoformat()})}")
    start = parse_datetime(form["start"].value() or "")
    service_type = selectors.service_types_for(user, store).filter(pk=form["service_type"].value() or 0).first() \
        if str(form["service_type"].value() or "").isdigit() else None
    return render(request, "appointments/book_form.html", _ctx(
        request, store, form=form, start_local=_local(start, store) if start else None, service_type=service_type,
        customer=customer, next_free=next_free, customer_vehicles=len(vehicles),
    ))


# ---- one appointment ----------------------------------------------------------------------------------------------
@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    appointment = _found(selectors.appointment_get, user, pk)
    store = appointment.store
    now = timezone.now()
    return render(request, "appointments/detail.html", _ctx(
        request, store, a=appointment, start=_local(appointment.start, store), end=_local(appointment.end, store),
        events=list(appointment.events.select_related("actor").order_by("at", "id")),
        shortages=list(appointment.shortages.select_related("part")),
        arrival=selectors.arrival_status(appointment, now), no_shows=selectors.no_show_count(appointment.customer),
        can_change=user.has_perm("appointments.change_appointment"), started=appointment.start <= now,
        reason_form=ReasonForm(), walk_in_minutes=(appointment.walk_in_seconds or 0) / 60,
        walk_in_ok=appointment.walk_in_seconds is not None and appointment.walk_in_seconds <= 600,
    ))


@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    appointment = _found(selectors.appointment_get, user, pk)
    store = appointment.store
    error = ""
    next_free: list[dict[str, Any]] = []
    if request.method == "POST":
        try:
            services.appointment_reschedule(actor=user, appointment=appointment, start=request.POST.get("start", ""),
                                            advisor=request.POST.get("advisor") or None, reason=request.POST.get("reason", ""))
        except DomainError as exc:
            error = str(exc.message)
            next_free = [{"start": s, "local": _local(s, store)} for s in
                         (parse_datetime(x) for x in exc.extra.get("next_free", [])) if s is not None]
        else:
            messages.success(request, _("Appointment rescheduled."))
            return redirect("appointments:detail", appointment.pk)
    query = request.GET.copy()
    query.setdefault("service_type", str(appointment.service_type_id))
    query.setdefault("date", _local(appointment.start, store).date().isoformat())
    request.GET = query
    context = _slots_context(request, store)
    if request.htmx and request.method == "GET":
        return render(request, "appointments/_slots.html", {**context, "store": store, "mode": "reschedule", "a": appointment})
    return render(request, "appointments/reschedule.html", _ctx(
        request, store, **context, mode="reschedule", a=appointment, error=error, next_free=next_free,
        start=_local(appointment.start, store),
    ))


def _act(request: HttpRequest, pk: int, fn: Any, done: str) -> HttpResponse:
    user = request.user
    appointment = _found(selectors.appointment_get, user, pk)
    try:
        fn(actor=user, appointment=appointment, reason=request.POST.get("reason", "").strip())
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    nxt = request.POST.get("next", "")
    if nxt.startswith("/") and not nxt.startswith("//"):
        return redirect(nxt)
    return redirect("appointments:detail", appointment.pk)


@require_POST
@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.appointment_cancel, _("Appointment cancelled."))


@require_POST
@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_no_show(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.appointment_mark_no_show, _("Marked as no-show."))


@require_POST
@login_required
@permission_required("appointments.change_appointment", raise_exception=True)
def appointment_arrive(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, services.appointment_arrive, _("Customer arrived."))


# ---- lists -----------------------------------------------------------------------------------------------------------
@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def arrivals(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    now = timezone.now()
    rows = [{"a": r.appointment, "status": r.status, "start": _local(r.appointment.start, store), "started": r.appointment.start <= now}
            for r in selectors.arrivals_today(request.user, store, now)]
    today = timezone.localtime(now, store.zone).date()
    return render(request, "appointments/arrivals.html", _ctx(
        request, store, rows=rows, can_change=request.user.has_perm("appointments.change_appointment"), today=today,
        walk_ins=selectors.walk_in_figures(request.user, store, today.replace(day=1), today),
    ))


@login_required
@permission_required("appointments.view_appointment", raise_exception=True)
def preparation(request: HttpRequest) -> HttpResponse:
    store = _store(request)
    default = timezone.localtime(timezone.now(), store.zone).date() + dt.timedelta(days=1)
    day = parse_date(request.GET.get("date") or "") or default
    rows = [{"p": p, "start": _local(p.appointment.start, store)} for p in selectors.preparation_for(request.user, store, day)]
    return render(request, "appointments/preparation.html", _ctx(
        request, store, rows=rows, day=day, missing=sum(len(r["p"].missing) for r in rows),
        prev=day - dt.timedelta(days=1), next=day + dt.timedelta(days=1),
    ))


WALK_IN_SLOT_SECONDS = 15 * 60  # free start times are on a quarter-hour grid (availability.free_starts)


# ---- walk-in ------------------------------------------------------------------------------------------------------------
def _walk_in_started(value: str) -> float | None:
    try:
        return float(signing.loads(value, salt=WALK_IN_SALT, max_age=WALK_IN_MAX_AGE))
    except (signing.BadSignature, TypeError, ValueError):
        return None


@login_required
@permission_required("appointments.add_appointment", raise_exception=True)
def walk_in(request: HttpRequest) -> HttpResponse:
    """One screen: customer and vehicle found or created, the first free slot from now booked, the time measured."""
    user = request.user
    store = _store(request)
    service_types = list(selectors.service_types_for(user, store))
    initial = {"started": signing.dumps(time.time(), salt=WALK_IN_SALT)}
    form = WalkInForm(request.POST or None, initial=initial, service_types=service_types)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        started = _walk_in_started(d["started"])
        kind = next(s for s in service_types if str(s.pk) == d["service_type"])
        now = timezone.now()
        appointment = None
        try:
            for _attempt in range(3):  # someone may take the first free time while we book it
                first = availability.next_free(store, kind, now, count=1, days=7)
                if not first:
                    form.add_error("service_type", _("No free bay and technician in the next 7 days for this service."))
                    break
                try:
                    appointment = services.appointment_book(
                        actor=user, store=store, service_type=kind, start=first[0], channel=BookingChannel.WALK_IN,
                        customer_data={"mobile": d["mobile"], "name": d.get("name", "")},
                        vehicle_data={k: d[k] for k in ("plate", "vin", "make", "model") if d.get(k)},
                        fault_description=d.get("fault_description", ""),
                    )
                    break
                except Conflict as exc:
                    if exc.code != "slot_taken":
                        raise
        except DomainError as exc:
            form.add_domain_error(exc)
        if appointment is not None:
            seconds = int(time.time() - started) if started is not None else None
            if seconds is not None:
                # registration to a bay that is free: when the first free bay and technician come later than the
                # next quarter hour (the live floor holds them), the figure counts the wait to them too
                wait = appointment.start.timestamp() - time.time() - WALK_IN_SLOT_SECONDS
                seconds = max(seconds + int(max(wait, 0)), 0)
                Appointment.objects.filter(pk=appointment.pk).update(walk_in_seconds=seconds)
            messages.success(request, _("Walk-in registered: bay %(bay)s, technician %(tech)s at %(time)s.") % {
                "bay": appointment.bay, "tech": appointment.technician,
                "time": _local(appointment.start, store).strftime("%H:%M")})
            return redirect("appointments:detail", appointment.pk)
        if started is None:  # a tampered or expired start: the clock starts again
            form.data = form.data.copy()
            form.data["started"] = initial["started"]
    return render(request, "appointments/walk_in.html", _ctx(request, store, form=form))


# ---- the customer's page behind the link in their confirmation (no login) ------------------------------------------------
def customer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The booking as the customer sees it: time, place, directions, materials; cancel or pick another free time."""
    from django.utils import translation

    from aftersales.common.errors import NotFound

    try:
        appointment = services.appointment_from_token(token)
    except NotFound as exc:
        return render(request, "appointments/public_message.html", {"message": exc.message}, status=404)
    except DomainError as exc:
        return render(request, "appointments/public_message.html", {"message": exc.message}, status=410)
    language = request.GET.get("lang") or getattr(appointment.customer, "language", "") or "zh-hans"
    if language not in ("zh-hans", "en"):
        language = "zh-hans"
    translation.activate(language)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.appointment_cancel_by_customer(appointment=appointment, token=token)
                messages.success(request, _("Your appointment is cancelled. We hope to see you another time."))
            elif action == "reschedule":
                services.appointment_reschedule_by_customer(appointment=appointment, token=token, start=request.POST.get("start"))
                messages.success(request, _("Your appointment is moved. A confirmation is on its way."))
            else:
                error = _("Choose what to do.")
        except DomainError as exc:
            error = str(exc.message)
        if not error:
            return redirect(f"{request.path}?lang={language}")
        appointment = services.appointment_from_token(token)
    store = appointment.store
    slots: list[Any] = []
    changing = appointment.status == AppointmentStatus.BOOKED and bool(request.GET.get("change"))
    today = timezone.localtime(timezone.now(), store.zone).date()
    picked = parse_date(request.GET.get("date") or "") if changing else None
    if changing and request.GET.get("date") and (picked is None or not today <= picked <= today + dt.timedelta(days=60)):
        error, picked = _("Pick a day from today to two months ahead."), None
    if changing:
        soonest = timezone.now() + dt.timedelta(hours=2)
        if picked is not None:  # every free time of the chosen day, the evening and the weekend included
            found = [s for s in availability.free_slots(store, picked, appointment.service_type) if s >= soonest]
        else:
            after = max(soonest, appointment.start - dt.timedelta(days=3))
            found = availability.next_free(store, appointment.service_type, after, count=12, days=14)
        slots = [_local(s, store) for s in found if s != appointment.start]
    return render(request, "appointments/public_booking.html", {
        "changing": changing, "picked": picked, "today": today, "last_day": today + dt.timedelta(days=60),
        "a": appointment, "store": store, "start": _local(appointment.start, store), "error": error, "slots": slots,
        "language": language, "materials": appointment.service_type.materials_in(language),
        "service": appointment.service_type.name_in(language),
        "hours": f"{Decimal(appointment.duration_minutes) / 60:.1f}".rstrip("0").rstrip("."),
    })
