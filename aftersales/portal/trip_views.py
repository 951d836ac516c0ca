"""Following a pickup in the owner app (390 px): the trip's step, the driver's first name, the expected arrival, a
call without numbers, and the window for the car to come back. Scoped to the signed-in owner: another owner's trip
is a 404. Reads and writes go through mobility's selectors and services (the portal imports mobility)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, NotFound
from aftersales.mobility import selectors as mobility_selectors
from aftersales.mobility import trips as mobility_trips

from .session import owner_required
from .views import _render, _use_language


def _owned(customer: Any, pk: int) -> Any:
    """The signed-in owner's trip; anyone else's (or none) is a 404 page."""
    try:
        return mobility_selectors.owner_trip(customer, pk)
    except NotFound as exc:
        raise Http404 from exc


def _local(value: str, zone: Any) -> Any:
    try:
        return timezone.make_aware(dt.datetime.fromisoformat(value), zone) if value else ""
    except ValueError:
        return value


@owner_required
def trip_page(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    trip = _owned(customer, pk)
    errors: dict[str, str] = {}
    zone = trip.store.zone
    values = {k: timezone.localtime(getattr(trip, k), zone).strftime("%Y-%m-%dT%H:%M") if getattr(trip, k) else ""
              for k in ("delivery_window_start", "delivery_window_end")}  # the window chosen so far
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            mobility_trips.trip_delivery_window(actor=None, trip=trip,
                                                window_start=_local(values["delivery_window_start"], trip.store.zone),
                                                window_end=_local(values["delivery_window_end"], trip.store.zone))
            return redirect("portal:trip", trip.pk)
        except DomainError as exc:
            rows = exc.extra.get("errors") or [{"field": exc.field, "message": str(exc.message)}]
            errors = {str(r["field"] or "general"): str(r["message"]) for r in rows}
    return _render(request, "portal/trip.html", {"t": trip, "view": mobility_selectors.owner_trip_view(trip),
                                                 "zone": trip.store.zone, "errors": errors, "values": values},
                   status=422 if errors else 200)


@owner_required
@require_POST
def trip_call(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner taps "call the driver": the same middle number the driver dials (bound for this trip), or the
    store's number; neither side sees the other's number."""
    from aftersales.mobility.calls import call_number

    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    trip = _owned(customer, pk)
    view = mobility_selectors.owner_trip_view(trip)
    number, masked = call_number(trip, trip.driver) if view["can_call"] else (trip.store.phone or "", False)
    return _render(request, "portal/trip_call.html", {"t": trip, "number": number, "masked": masked})
