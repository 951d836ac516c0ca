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
    return render(request, "mobility/board.html", {
        "store": store, "day": day, "rows": rows, "drivers": selectors.drivers(store),
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
@permission_required("mobility.change_trip", raise_exception=True)
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
@permission_required("mobility.view_trip", raise_exception=True)
def driver_page(request: HttpRequest) -> HttpResponse:
    rows = [(t, _next_moves(t)) for t in selectors.my_trips(request.user)]
    eta_default = (timezone.localtime(timezone.now()) + dt.timedelta(minutes=30)).strftime("%H:%M")
    return render(request, "mobility/driver.html", {"rows": rows, "eta_default": eta_default})


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
