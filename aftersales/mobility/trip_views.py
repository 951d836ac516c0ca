"""Pickup and delivery screens: the dispatcher's board of the day (desk size), ordering a pickup at the desk, and the
driver's phone page (390 px) with the trips in order, a navigation hand-off and the next step of each trip."""

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
from aftersales.common.views import found, store_from_request

from . import selectors, trips
from .choices import DRIVER_MOVES, TRIP_TRANSITIONS, OrderedVia, TripStatus
from .views import _errors, _local_input


def _next_moves(trip: Any) -> list[tuple[str, str]]:
    return [(s, str(TripStatus(s).label)) for s in DRIVER_MOVES if s in TRIP_TRANSITIONS.get(trip.status, set())]


@login_required
@permission_required("mobility.add_trip", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    store = store_from_request(request)
    try:
        day = dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = timezone.localtime(timezone.now(), store.zone).date()
    rows = selectors.trips_of_day(request.user, store=store, day=day)
    plan = selectors.route_plan(request.user, store=store, day=day) if request.GET.get("plan") else None
    return render(request, "mobility/board.html", {
        "store": store, "day": day, "rows": rows, "drivers": selectors.drivers(store), "plan": plan,
        "deliveries": selectors.deliveries_of_day(request.user, store=store, day=day),
        "prev": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1), "errors": {}, "values": {},
    })


@login_required
@permission_required("mobility.add_trip", raise_exception=True)
def trip_new(request: HttpRequest) -> HttpResponse:
    """Order a pickup at the desk (advisor) or on the phone (call centre) for a car of the store's customers."""
    from aftersales.common.scoping import restrict_customers
    from aftersales.vehicles.models import Vehicle

    store = store_from_request(request)
    values = {k: request.POST.get(k, "") for k in ("plate", "address", "lng", "lat", "window_start", "window_end", "notes")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        vehicle = restrict_customers(Vehicle.objects.select_related("owner"), request.user, "owner").filter(
            plate=values["plate"].strip().upper()).first() if values["plate"].strip() else None
        via = OrderedVia.CALL_CENTRE if request.user.groups.filter(name="call_centre_agent").exists() else OrderedVia.ADVISOR
        try:
            if vehicle is None:
                raise DomainError("not_found", _("No car with this plate among your customers."), "plate")
            trip = trips.trip_request(
                actor=request.user, store=store, vehicle=vehicle, address=values["address"], lng=values["lng"],
                lat=values["lat"], window_start=_local_input(values["window_start"], store),
                window_end=_local_input(values["window_end"], store), via=via, notes=values["notes"])
            messages.success(request, _("Pickup ordered for %(plate)s.") % {"plate": vehicle.plate})
            day = timezone.localtime(trip.window_start, store.zone).date().isoformat()
            return redirect(f"{request.path.rsplit('trips/', 1)[0]}trips/board/?store={store.pk}&day={day}")
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "mobility/trip_new.html", {"store": store, "values": values, "errors": errors},
                  status=422 if errors else 200)


@login_required
@permission_required("mobility.add_trip", raise_exception=True)
@require_POST
def schedule(request: HttpRequest, pk: int) -> HttpResponse:
    from aftersales.staff.models import User

    trip = found(selectors.trip, request.user, pk)
    driver = User.objects.filter(pk=request.POST.get("driver") or 0).first() if str(request.POST.get("driver", "")).isdigit() else None
    try:
        trips.trip_schedule(actor=request.user, trip=trip, driver=driver)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    day = timezone.localtime(trip.window_start, trip.store.zone).date().isoformat()
    return redirect(f"{request.path.rsplit('trips/', 1)[0]}trips/board/?store={trip.store_id}&day={day}")


@login_required
@permission_required("mobility.add_trip", raise_exception=True)
@require_POST
def delivery_window(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk sets the owner's window for the car to come back (the owner sets it in the app)."""
    trip = found(selectors.trip, request.user, pk)
    try:
        trips.trip_delivery_window(actor=request.user, trip=trip,
                                   window_start=_local_input(request.POST.get("delivery_window_start", ""), trip.store),
                                   window_end=_local_input(request.POST.get("delivery_window_end", ""), trip.store))
        messages.success(request, _("Delivery window saved."))
    except DomainError as exc:
        for message in _errors(exc).values():
            messages.error(request, message)
    day = timezone.localtime(trip.window_start, trip.store.zone).date().isoformat()
    return redirect(f"{request.path.rsplit('trips/', 1)[0]}trips/board/?store={trip.store_id}&day={day}")


@login_required
@permission_required("mobility.add_trip", raise_exception=True)
@require_POST
def plan_apply(request: HttpRequest) -> HttpResponse:
    """Apply the route plan shown on the board: every stop re-checked by the service, all or nothing."""
    from aftersales.staff.models import User

    store = store_from_request(request)
    stops = []
    for raw in request.POST.getlist("stop"):
        try:
            trip_id, driver_id, when = raw.split(":", 2)
            stops.append((found(selectors.trip, request.user, int(trip_id)),
                          User.objects.filter(pk=int(driver_id)).first(), dt.datetime.fromisoformat(when)))
        except ValueError:
            messages.error(request, _("The plan was changed in the page; plan again."))
            break
    else:
        try:
            n = trips.plan_apply(actor=request.user, store=store, stops=stops)
            messages.success(request, _("Route plan applied to %(n)s trips.") % {"n": n})
        except DomainError as exc:
            messages.error(request, str(exc.message))
    return redirect(f"{request.path.rsplit('trips/', 1)[0]}trips/board/?store={store.pk}&day={request.POST.get('day', '')}")


@login_required
@permission_required("mobility.change_drivershift", raise_exception=True)
def shifts(request: HttpRequest) -> HttpResponse:
    """The dispatcher's shift editor (desk size): each driver's week at the store, a start and an end per weekday
    (both blank: a day off). The route plan keeps every driver inside that day's shift."""
    from aftersales.staff.models import User
    from aftersales.stores.models import Weekday

    store = store_from_request(request)
    errors: dict[str, str] = {}
    failed_driver = None
    posted: dict[str, str] = {}
    if request.method == "POST":
        raw = request.POST.get("driver", "")
        driver = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        posted = {k: request.POST.get(k, "") for d in range(7) for k in (f"start_{d}", f"end_{d}")}
        try:
            trips.driver_week_set(actor=request.user, store=store, driver=driver,
                                  days={d: (posted[f"start_{d}"], posted[f"end_{d}"]) for d in range(7)})
            messages.success(request, _("Shifts saved for %(name)s.") % {"name": driver.get_full_name() or driver.username})
            return redirect(f"{request.path}?store={store.pk}")
        except DomainError as exc:
            errors, failed_driver = _errors(exc), (driver.pk if driver is not None else None)
    rows = []
    for driver, week in selectors.driver_weeks(request.user, store):
        days = []
        for d in range(7):
            shift = week.get(d)
            start = f"{shift.start:%H:%M}" if shift else ""
            end = f"{shift.end:%H:%M}" if shift else ""
            if failed_driver == driver.pk:
                start, end = posted.get(f"start_{d}", ""), posted.get(f"end_{d}", "")
            days.append({"n": d, "start": start, "end": end,
                         "error": (errors.get(f"start_{d}") or errors.get(f"end_{d}")) if failed_driver == driver.pk else ""})
        rows.append({"driver": driver, "days": days, "kept": bool(week), "failed": failed_driver == driver.pk})
    return render(request, "mobility/shifts.html", {"store": store, "rows": rows, "weekdays": Weekday.choices,
                                                   "general": errors.get("driver") or errors.get("general", "")},
                  status=422 if errors else 200)


@login_required
@permission_required("mobility.view_trip", raise_exception=True)
def driver_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [(t, _next_moves(t), timezone.localtime(selectors.eta_from_store(t, now), t.store.zone).strftime("%H:%M"))
            for t in selectors.my_trips(request.user)]
    return render(request, "mobility/driver.html", {"rows": rows})


@login_required
@permission_required("mobility.change_trip", raise_exception=True)
@require_POST
def driver_move(request: HttpRequest, pk: int) -> HttpResponse:
    trip = found(selectors.trip, request.user, pk)
    to = request.POST.get("to", "")
    eta: Any = None
    if to == TripStatus.ON_THE_WAY:
        raw = request.POST.get("eta", "")
        try:
            hh, mm = (int(x) for x in raw.split(":"))
            day = max(timezone.localtime(timezone.now(), trip.store.zone), timezone.localtime(trip.window_start, trip.store.zone))
            eta = day.replace(hour=hh, minute=mm, second=0, microsecond=0)  # on the trip's day (today at the earliest)
        except ValueError:
            eta = raw
    try:
        trips.trip_move(actor=request.user, trip=trip, to=to, eta=eta)
        messages.success(request, _("%(plate)s: %(state)s.") % {"plate": trip.vehicle.plate, "state": TripStatus(to).label})
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect(request.POST.get("next") or "mobility:driver")


# ---- the door-step handover (reception's sheet, on the driver's phone) --------------------------------------------
def _handover_context(request: HttpRequest, trip: Any, phase: str, sheet: Any, errors: dict[str, str]) -> dict[str, Any]:
    from aftersales.reception.choices import DamageKind, HandoverStatus

    other = trip.pickup_handover if phase == trips.DELIVERY else None
    return {
        "t": trip, "phase": phase, "h": sheet, "marks": list(sheet.marks.all()), "photos": list(sheet.photos.all()),
        "damage_kinds": DamageKind.choices, "editable": sheet.status != HandoverStatus.SIGNED, "can_change": True,
        "pickup_sheet": other, "pickup_marks": list(other.marks.all()) if other else [], "errors": errors,
        "values": {"mileage": sheet.mileage if sheet.mileage is not None else "",
                   "energy_level": sheet.energy_level if sheet.energy_level is not None else "",
                   "belongings": sheet.belongings, "exterior_notes": sheet.exterior_notes,
                   "signer_name": sheet.signer_name or trip.customer.name},
    }


@login_required
@permission_required("mobility.change_trip", raise_exception=True)
def handover(request: HttpRequest, pk: int, phase: str) -> HttpResponse:
    """The handover sheet at the owner's door, at 390 px: reception's sheet, started and filled through reception's
    services (mileage, fuel/charge, damage on the outline, photos, belongings, the owner's signature on the phone)."""
    from aftersales.reception import services as reception

    trip = found(selectors.trip, request.user, pk)
    if phase not in trips.HANDOVER_WHEN:
        return HttpResponse(status=404)
    sheet = getattr(trip, f"{phase}_handover")
    if (request.method == "POST" and request.POST.get("action") == "start") or sheet is None:
        if request.method != "POST":
            return redirect("mobility:driver")
        try:  # the sheet is started once per phase (a second tap opens the same sheet)
            trips.trip_handover(actor=request.user, trip=trip, phase=phase)
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("mobility:driver")
        return redirect("mobility:trip_handover", trip.pk, phase)
    errors: dict[str, str] = {}
    if request.method == "POST":
        p = request.POST
        action = p.get("action", "")
        try:
            with trips.door_step(actor=request.user, trip=trip, phase=phase):
                if action == "save":
                    reception.handover_update(actor=request.user, handover=sheet, data={
                        k: p.get(k, "") for k in ("mileage", "energy_level", "belongings", "exterior_notes")})
                    messages.success(request, _("Handover sheet saved."))
                elif action == "mark":
                    reception.damage_mark_add(actor=request.user, handover=sheet, x=p.get("x"), y=p.get("y"),
                                              kind=p.get("kind", ""), note=p.get("note", ""))
                elif action == "photo":
                    upload = request.FILES.get("photo")
                    if upload is None or (upload.size or 0) > 64 * 1024 * 1024:
                        raise DomainError("photo_missing", _("Choose a photo to upload."), "photo")
                    reception.photo_add(actor=request.user, handover=sheet, content=upload.read(), caption=p.get("caption", ""))
                    messages.success(request, _("Photo added."))
                elif action == "sign":
                    reception.handover_sign(actor=request.user, handover=sheet, signature=p.get("signature", ""),
                                            signer_name=p.get("signer_name", ""))
                    messages.success(request, _("Signed by the customer."))
                else:
                    raise DomainError("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": action}, "action")
        except DomainError as exc:
            errors = _errors(exc)
            sheet.refresh_from_db()
            return render(request, "mobility/handover.html", _handover_context(request, trip, phase, sheet, errors), status=422)
        return redirect("mobility:trip_handover", trip.pk, phase)
    return render(request, "mobility/handover.html", _handover_context(request, trip, phase, sheet, errors))


@login_required
@permission_required("mobility.change_trip", raise_exception=True)
@require_POST
def call(request: HttpRequest, pk: int) -> HttpResponse:
    """The driver taps "call the owner": a masked middle number bound for this trip (or the store's number)."""
    from .calls import call_number

    trip = found(selectors.trip, request.user, pk)
    try:
        trips._own_trip(request.user, trip)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("mobility:driver")
    number, masked = call_number(trip, request.user)
    return render(request, "mobility/call.html", {"t": trip, "number": number, "masked": masked})
