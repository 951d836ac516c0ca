"""The owner's API under /api/portal/: the owner's own session (signed in with the SMS code), never a staff login
or token. Everything is the signed-in customer's own; another owner's object is a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.security import APIKeyCookie

from aftersales.common.api_schemas import ERRORS
from aftersales.common.errors import ValidationFailed

from . import selectors, services
from .session import current_customer


class OwnerSessionAuth(APIKeyCookie):
    """The owner app's session cookie (CSRF-checked for writes); a staff session is not an owner."""

    param_name = "sessionid"
    openapi_description = "The owner app's session, after signing in with the SMS code at /app/login/."

    def _get_key(self, request: HttpRequest) -> Any:
        if current_customer(request) is None:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        customer = current_customer(request)
        if customer is not None:
            request.customer = customer  # type: ignore[attr-defined]
        return customer


router = Router(tags=["owner app"], auth=OwnerSessionAuth())


class PortalStepOut(Schema):
    code: str
    label: str
    state: str


class PortalOrderBrief(Schema):
    id: int
    number: str
    status: str
    status_label: str
    steps: list[PortalStepOut]


class PortalCarOut(Schema):
    id: int
    plate: str
    make: str
    model: str
    mileage: int
    service_due: dt.date | None
    service_km: int | None
    insurance_expiry: dt.date | None
    inspection_due: dt.date | None
    open_order: PortalOrderBrief | None


class PortalMeOut(Schema):
    name: str
    greeting: str
    points: int
    unread: int
    tier: str
    tier_label: str


class PortalJobOut(Schema):
    title: str
    status: str
    status_label: str
    bay: str
    technician: str


class PortalOrderOut(PortalOrderBrief):
    store: str
    plate: str
    promised_at: dt.datetime | None
    jobs: list[PortalJobOut]
    approve_url: str


class PortalAppointmentOut(Schema):
    id: int
    store: str
    plate: str
    start: dt.datetime
    status: str
    status_label: str


class PortalBookIn(Schema):
    store: str
    service_type: int
    vehicle: int
    start: str
    advisor: int | None = None
    fault_description: str = ""


def _steps(order: Any) -> list[dict[str, Any]]:
    return [{"code": s.code, "label": str(s.label), "state": s.state} for s in selectors.steps_of(order)]


def _brief(order: Any) -> dict[str, Any]:
    return {"id": order.pk, "number": order.number, "status": order.status, "status_label": order.get_status_display(),
            "steps": _steps(order)}


def _appointment(a: Any) -> dict[str, Any]:
    return {"id": a.pk, "store": a.store.name, "plate": a.vehicle.plate, "start": a.start, "status": a.status,
            "status_label": a.get_status_display()}


@router.get("/me", response={200: PortalMeOut, **ERRORS})
def me(request: HttpRequest) -> Any:
    customer = request.customer  # type: ignore[attr-defined]
    tier = selectors.tier_of(customer)
    return {"name": customer.name, "greeting": customer.greeting, "points": customer.points_balance,
            "unread": selectors.unread_count(customer), "tier": tier["tier"], "tier_label": str(tier["tier_label"])}


@router.get("/cars", response={200: list[PortalCarOut], **ERRORS})
def cars(request: HttpRequest) -> Any:
    return [
        {"id": c.car.pk, "plate": c.car.plate, "make": c.car.make, "model": c.car.model, "mileage": c.car.current_mileage,
         "service_due": c.service_due, "service_km": c.service_km, "insurance_expiry": c.car.insurance_expiry,
         "inspection_due": c.inspection_due, "open_order": _brief(c.order) if c.order else None}
        for c in selectors.home_cars(request.customer)  # type: ignore[attr-defined]
    ]


@router.get("/orders/{order_id}", response={200: PortalOrderOut, **ERRORS})
def order(request: HttpRequest, order_id: int) -> Any:
    ctx = selectors.order_follow(request.customer, order_id)  # type: ignore[attr-defined]
    o = ctx["order"]
    return {
        **_brief(o), "store": o.store.name, "plate": o.vehicle.plate, "promised_at": o.promised_at,
        "jobs": [{"title": j.title, "status": j.status, "status_label": j.get_status_display(),
                  "bay": j.bay.name if j.bay else "", "technician": j.tech_name} for j in ctx["jobs"]],
        "approve_url": reverse("estimates:approve", args=[ctx["approve_token"]]) if ctx["approve_token"] else "",
    }


@router.get("/appointments", response={200: list[PortalAppointmentOut], **ERRORS})
def appointments(request: HttpRequest) -> Any:
    return [_appointment(a) for a in selectors.upcoming_appointments(request.customer)]  # type: ignore[attr-defined]


@router.post("/appointments", response={201: PortalAppointmentOut, **ERRORS})
def book(request: HttpRequest, payload: PortalBookIn) -> Any:
    customer = request.customer  # type: ignore[attr-defined]
    store = selectors.store_pick(customer, payload.store, list(selectors.stores_for(customer)))
    if store is None or payload.store not in (store.code, str(store.pk)):
        raise ValidationFailed("store_unknown", _("Choose one of our stores."), "store")
    appointment = services.owner_book(
        customer=customer, store=store, service_type=payload.service_type, start=payload.start, vehicle=payload.vehicle,
        advisor=payload.advisor, fault_description=payload.fault_description,
    )
    return Status(201, _appointment(selectors.appointment_get(customer, appointment.pk)))


@router.post("/appointments/{appointment_id}/cancel", response={200: PortalAppointmentOut, **ERRORS})
def cancel(request: HttpRequest, appointment_id: int) -> Any:
    customer = request.customer  # type: ignore[attr-defined]
    item = selectors.appointment_get(customer, appointment_id)
    services.owner_cancel(customer=customer, appointment=item)
    return _appointment(selectors.appointment_get(customer, appointment_id))
