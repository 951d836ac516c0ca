"""The owner's rescue pages in the owner app (/app/rescue/): the one-tap request with the phone's position (or a
typed address), photos and what happened; the live page with the status, the ETA (htmx polling), the crew's first
name and a call button to the store's rescue hotline (no personal number shown). Reads and writes go through
aftersales.rescue's selectors and services (the portal sits above rescue)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from aftersales.common.errors import DomainError, NotFound
from aftersales.rescue import selectors as rescue_selectors
from aftersales.rescue import services as rescue_services
from aftersales.rescue.choices import CaseStatus, Incident

from . import selectors
from .session import owner_required
from .views import _render, _use_language

STEPS = (CaseStatus.REQUESTED, CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE, CaseStatus.ON_SCENE)


def _errors(exc: DomainError) -> dict[str, str]:
    errors = {str(e["field"]): str(e["message"]) for e in exc.extra.get("errors", [])}
    errors.setdefault(str(exc.field or "general"), str(exc.message))
    return errors


@owner_required
def rescue_request(request: HttpRequest) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    cars = list(selectors.cars_of(customer))
    data = request.POST if request.method == "POST" else request.GET
    ctx: dict[str, Any] = {
        "cars": cars, "incidents": Incident.choices, "errors": {}, "data": data,
        "car_id": str(data.get("vehicle") or (cars[0].pk if len(cars) == 1 else "")),
        "open_case": rescue_selectors.owner_open_case(customer),
    }
    if request.method == "POST":
        drivable = {"yes": True, "no": False}.get(data.get("drivable", ""), data.get("drivable") or None)
        try:
            case = rescue_services.owner_request(
                customer=customer, vehicle_id=data.get("vehicle"), incident=data.get("incident"), lat=data.get("lat"),
                lng=data.get("lng"), drivable=drivable, description=data.get("description", ""),
                address=data.get("address", ""), photos=[f.read() for f in request.FILES.getlist("photos")[:11]],
            )
        except DomainError as exc:
            ctx["errors"] = _errors(exc)
            return _render(request, "portal/rescue_request.html", ctx, status=exc.status)
        return redirect("portal:rescue_case", case.pk)
    return _render(request, "portal/rescue_request.html", ctx)


def _live(case: Any) -> dict[str, Any]:
    order = [*STEPS]
    current = case.status
    if current == CaseStatus.ACCEPTED:
        current = CaseStatus.REQUESTED
    idx = order.index(current) if current in order else len(order)
    steps = [{"label": CaseStatus(s).label, "state": "done" if i < idx else ("current" if i == idx else "")} for i, s in enumerate(order)]
    return {
        "case": case, "steps": steps, "minutes_left": rescue_selectors.minutes_to_arrival(case),
        "crew_name": rescue_selectors.crew_first_name(case), "km_away": rescue_selectors.unit_distance_km(case), "hotline": rescue_selectors.hotline(case),
        "live": case.status not in (CaseStatus.CLOSED, CaseStatus.CANCELLED),
        "slipped": bool(case.eta_at and case.promised_at and case.eta_at > case.promised_at),
        "can_cancel": case.status in (CaseStatus.REQUESTED, CaseStatus.ACCEPTED, CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE),
        "photos": list(case.photos.all()),
        "approach": rescue_selectors.owner_approach(case),
    }


@owner_required
def rescue_case(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    try:
        case = rescue_selectors.owner_case_get(customer, pk)
    except NotFound:
        return _render(request, "404.html", {}, status=404)
    ctx = _live(case)
    if request.headers.get("HX-Request") and request.GET.get("part") == "live":
        return _render(request, "portal/_rescue_live.html", ctx)
    return _render(request, "portal/rescue_case.html", ctx)


@owner_required
@require_POST
def rescue_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    try:
        case = rescue_selectors.owner_case_get(customer, pk)
        rescue_services.owner_cancel(customer=customer, case=case)
    except NotFound:
        return _render(request, "404.html", {}, status=404)
    except DomainError as exc:
        ctx = {**_live(rescue_selectors.owner_case_get(customer, pk)), "errors": _errors(exc)}
        return _render(request, "portal/rescue_case.html", ctx, status=exc.status)
    return redirect("portal:rescue_case", pk)


@owner_required
@require_POST
def rescue_photo(request: HttpRequest, pk: int) -> HttpResponse:
    customer = request.customer  # type: ignore[attr-defined]
    _use_language(request, customer)
    try:
        case = rescue_selectors.owner_case_get(customer, pk)
        upload = request.FILES.get("photo")
        rescue_services.owner_photo_add(customer=customer, case=case, content=upload.read() if upload else b"")
    except NotFound:
        return _render(request, "404.html", {}, status=404)
    except DomainError as exc:
        ctx = {**_live(rescue_selectors.owner_case_get(customer, pk)), "errors": _errors(exc)}
        return _render(request, "portal/rescue_case.html", ctx, status=exc.status)
    return redirect("portal:rescue_case", pk)
