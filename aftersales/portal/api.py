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


# ---- pay (points, vouchers, then the rest online) --------------------------------------------------------------------
class PortalVoucherOption(Schema):
    id: int
    code: str
    name: str
    discount: str
    valid_until: dt.date


class PortalChannelOut(Schema):
    channel: str
    label: str


class PortalPayOut(Schema):
    invoice: str
    status: str
    total: str
    balance: str
    channels: list[PortalChannelOut]
    points: int
    points_per_cny: int
    max_points: int
    vouchers: list[PortalVoucherOption]


class PortalPayIn(Schema):
    channel: str


class PortalPrepayOut(Schema):
    out_trade_no: str
    amount: str
    status: str
    kind: str
    url: str
    params: dict[str, str]


class PortalOnlineOut(Schema):
    out_trade_no: str
    amount: str
    status: str
    status_label: str


class PortalPointsIn(Schema):
    points: int
    idempotency_key: str


class PortalVoucherIn(Schema):
    voucher: int
    idempotency_key: str


class PortalPaymentOut(Schema):
    method: str
    amount: str
    balance: str


def _pay_view(request: HttpRequest, invoice: Any) -> dict[str, Any]:
    from aftersales.billing.online import browser_kind, channels_for

    customer = request.customer  # type: ignore[attr-defined]
    customer.refresh_from_db(fields=["points_balance"])
    loyalty = selectors.pay_loyalty(customer, invoice)
    open_ = loyalty.get("open", False)
    return {
        "invoice": invoice.number, "status": invoice.status, "total": str(invoice.total), "balance": str(invoice.balance),
        "channels": [{"channel": c, "label": str(label)} for c, label in channels_for(invoice, browser_kind(request))]
        if open_ else [],
        "points": customer.points_balance, "points_per_cny": loyalty.get("rate", 0) if open_ else 0,
        "max_points": loyalty.get("max_points", 0) if open_ else 0,
        "vouchers": [{"id": row["voucher"].pk, "code": row["voucher"].code, "name": row["voucher"].template.name,
                      "discount": str(row["discount"]), "valid_until": row["voucher"].valid_until}
                     for row in loyalty.get("vouchers", [])],
    }


@router.get("/orders/{order_id}/pay", response={200: PortalPayOut, **ERRORS})
def pay_options(request: HttpRequest, order_id: int) -> Any:
    """The order's invoice: balance, the ways to pay online that fit this browser, usable vouchers and points."""
    return _pay_view(request, selectors.invoice_of_order(request.customer, order_id))  # type: ignore[attr-defined]


@router.post("/orders/{order_id}/pay", response={201: PortalPrepayOut, **ERRORS})
def pay_start(request: HttpRequest, order_id: int, payload: PortalPayIn) -> Any:
    """Start paying the balance online (the provider's prepay): ``kind`` "redirect" (open ``url``), "qr" (show ``url``
    as a QR code) or "jsapi" (``params`` for WeixinJSBridge). The provider's notification settles it."""
    from aftersales.billing.online import start_online

    invoice = selectors.invoice_of_order(request.customer, order_id)  # type: ignore[attr-defined]
    here = reverse("portal:order_pay", args=[order_id])
    online = start_online(request, invoice, payload.channel, here)
    prepay = online.prepay
    return Status(201, {"out_trade_no": online.out_trade_no, "amount": str(online.amount), "status": online.status,
                        "kind": prepay.kind if prepay else "", "url": prepay.url if prepay else "",
                        "params": dict(prepay.params) if prepay else {}})


@router.get("/orders/{order_id}/payments/{out_trade_no}", response={200: PortalOnlineOut, **ERRORS})
def pay_status(request: HttpRequest, order_id: int, out_trade_no: str) -> Any:
    """One online payment of the order's invoice (asks the provider once if it is still waiting)."""
    import datetime

    from django.http import Http404
    from django.utils import timezone

    from aftersales.billing.models import OnlinePayment
    from aftersales.billing.services import online_payment_check

    invoice = selectors.invoice_of_order(request.customer, order_id)  # type: ignore[attr-defined]
    online = OnlinePayment.objects.filter(invoice=invoice, out_trade_no=out_trade_no[:32]).select_related("merchant").first()
    if online is None:
        raise Http404
    fresh = online.checked_at and timezone.now() - online.checked_at < datetime.timedelta(seconds=10)
    if online.status == OnlinePayment.Status.PENDING and not fresh:
        online = online_payment_check(online=online)
    return {"out_trade_no": online.out_trade_no, "amount": str(online.amount), "status": online.status,
            "status_label": online.get_status_display()}


def _payment_out(payment: Any) -> dict[str, Any]:
    payment.invoice.refresh_from_db()
    return {"method": payment.method, "amount": str(payment.amount), "balance": str(payment.invoice.balance)}


@router.post("/orders/{order_id}/pay/points", response={201: PortalPaymentOut, **ERRORS})
def pay_points(request: HttpRequest, order_id: int, payload: PortalPointsIn) -> Any:
    """Spend my points on the balance (once per ``idempotency_key``; at most the store's share of the invoice)."""
    from aftersales.billing.services import owner_pay_with_points

    customer = request.customer  # type: ignore[attr-defined]
    invoice = selectors.invoice_of_order(customer, order_id)
    payment = owner_pay_with_points(customer=customer, invoice=invoice, points=payload.points,
                                    idempotency_key=payload.idempotency_key)
    return Status(201, _payment_out(payment))


@router.post("/orders/{order_id}/pay/voucher", response={201: PortalPaymentOut, **ERRORS})
def pay_voucher(request: HttpRequest, order_id: int, payload: PortalVoucherIn) -> Any:
    """Use one of my vouchers on the balance (single use; once per ``idempotency_key``)."""
    from aftersales.billing.services import owner_pay_with_voucher

    customer = request.customer  # type: ignore[attr-defined]
    invoice = selectors.invoice_of_order(customer, order_id)
    payment = owner_pay_with_voucher(customer=customer, invoice=invoice, voucher_id=payload.voucher,
                                     idempotency_key=payload.idempotency_key)
    return Status(201, _payment_out(payment))


# ---- rate ------------------------------------------------------------------------------------------------------------
class PortalRateOut(Schema):
    order: str
    state: str
    scores: dict[str, int | None]
    suggestions: str


class PortalRateIn(Schema):
    overall: int | None = None
    attitude: int
    quality: int
    waiting: int
    price: int
    recommend: int
    suggestions: str = ""


SCORE_NAMES = ("overall", "attitude", "quality", "waiting", "price", "recommend")


def _rate_out(followup: Any) -> dict[str, Any]:
    from django.utils import timezone

    state = followup.status
    if state == "open" and followup.expires_at and timezone.now() > followup.expires_at:
        state = "closed"
    return {"order": followup.order.number, "state": state if state in ("open", "answered") else "closed",
            "scores": {name: getattr(followup, f"score_{name}", None) for name in SCORE_NAMES},
            "suggestions": followup.suggestions or ""}


@router.get("/orders/{order_id}/rate", response={200: PortalRateOut, **ERRORS})
def rate_get(request: HttpRequest, order_id: int) -> Any:
    """The follow-up survey of one of my visits: open, answered (with my answers) or closed."""
    return _rate_out(selectors.followup_of_order(request.customer, order_id))  # type: ignore[attr-defined]


@router.post("/orders/{order_id}/rate", response={200: PortalRateOut, **ERRORS})
def rate_answer(request: HttpRequest, order_id: int, payload: PortalRateIn) -> Any:
    """Answer the survey once (0–10 each; every bad score named at once)."""
    from aftersales.common.errors import Conflict
    from aftersales.feedback.forms import ScoresForm
    from aftersales.feedback.services import followup_answer

    followup = selectors.followup_of_order(request.customer, order_id)  # type: ignore[attr-defined]
    state = _rate_out(followup)["state"]
    if state == "answered":
        raise Conflict("already_answered", _("You have already answered this survey. Thank you!"), "order")
    if state == "closed":
        raise Conflict("survey_closed", _("This survey is closed."), "order")
    data = {k: ("" if v is None else str(v)) for k, v in payload.dict().items()}
    form = ScoresForm(data)
    if not form.is_valid():
        errors = {name: str(err[0]) for name, err in form.errors.items()}
        first = next(iter(errors))
        raise ValidationFailed("invalid", errors[first], first, errors=errors)
    followup_answer(followup=followup, scores=form.cleaned_data, suggestions=form.cleaned_data["suggestions"])
    followup.refresh_from_db()
    return _rate_out(followup)


# ---- my data (PIPL) ----------------------------------------------------------------------------------------------------
class PortalConsentItem(Schema):
    purpose: str
    channel: str
    granted: bool


class PortalDeletionOut(Schema):
    status: str
    status_label: str
    requested_at: dt.datetime
    due_at: dt.datetime
    handled_at: dt.datetime | None


class PortalPrivacyOut(Schema):
    consents: list[PortalConsentItem]
    quiet_start: str
    quiet_end: str
    deletion: PortalDeletionOut | None
    retained: list[str]


class PortalConsentsIn(Schema):
    consents: list[PortalConsentItem]


class PortalQuietIn(Schema):
    quiet_start: str = ""
    quiet_end: str = ""


class PortalDeletionIn(Schema):
    reason: str = ""


def _privacy_out(customer: Any) -> dict[str, Any]:
    from aftersales.customers.models import Consent
    from aftersales.customers.selectors import current_consents

    from .models import DeletionRequest

    customer.refresh_from_db()
    current = current_consents(list(Consent.objects.filter(customer=customer).order_by("-at", "-id")))
    deletion = DeletionRequest.objects.filter(customer=customer).order_by("-requested_at").first()
    return {
        "consents": [{"purpose": p, "channel": c, "granted": bool(current.get((p, c)) and current[(p, c)].granted)}
                     for p in services.CONSENT_PURPOSES for c in services.CONSENT_CHANNELS],
        "quiet_start": customer.quiet_start.strftime("%H:%M") if customer.quiet_start else "",
        "quiet_end": customer.quiet_end.strftime("%H:%M") if customer.quiet_end else "",
        "deletion": None if deletion is None else {
            "status": deletion.status, "status_label": deletion.get_status_display(), "requested_at": deletion.requested_at,
            "due_at": deletion.due_at, "handled_at": deletion.handled_at},
        "retained": [str(r) for r in services.RETAINED],
    }


@router.get("/privacy", response={200: PortalPrivacyOut, **ERRORS})
def privacy_get(request: HttpRequest) -> Any:
    """My consents per purpose and channel, my quiet hours, my deletion request and what the law makes us keep."""
    return _privacy_out(request.customer)  # type: ignore[attr-defined]


@router.put("/privacy/consents", response={200: PortalPrivacyOut, **ERRORS})
def privacy_consents(request: HttpRequest, payload: PortalConsentsIn) -> Any:
    """Grant or withdraw consents (only the ones listed change; each change is dated and kept as proof)."""
    customer = request.customer  # type: ignore[attr-defined]
    services.owner_consents_set(customer=customer, wanted={(c.purpose, c.channel): c.granted for c in payload.consents})
    return _privacy_out(customer)


@router.put("/privacy/quiet-hours", response={200: PortalPrivacyOut, **ERRORS})
def privacy_quiet(request: HttpRequest, payload: PortalQuietIn) -> Any:
    """My quiet hours ("21:00" to "08:00"; both empty: none of my own)."""
    customer = request.customer  # type: ignore[attr-defined]
    services.owner_quiet_hours_set(customer=customer, start=payload.quiet_start, end=payload.quiet_end)
    return _privacy_out(customer)


@router.get("/privacy/export", response={200: dict[str, Any], **ERRORS})
def privacy_export(request: HttpRequest) -> Any:
    """Everything we hold about me, as JSON (the download is recorded)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    data = services.owner_data_export(customer=request.customer)  # type: ignore[attr-defined]
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@router.post("/privacy/deletion-request", response={201: PortalPrivacyOut, **ERRORS})
def privacy_deletion(request: HttpRequest, payload: PortalDeletionIn) -> Any:
    """Ask for my personal data to be deleted (one open request at a time; staff answer within 15 days)."""
    customer = request.customer  # type: ignore[attr-defined]
    services.owner_deletion_request(customer=customer, reason=payload.reason)
    return Status(201, _privacy_out(customer))


# ---- following a pickup (取送车): the owner's own trips (mobility's selectors and services) ------------------------
class PortalTripStepOut(Schema):
    code: str
    label: str
    done: bool
    current: bool


class PortalTripOut(Schema):
    id: int
    store: str
    plate: str
    address: str
    status: str
    status_label: str
    window_start: dt.datetime
    window_end: dt.datetime
    delivery_window_start: dt.datetime | None
    delivery_window_end: dt.datetime | None
    driver_first_name: str
    eta: dt.datetime | None
    can_call: bool
    steps: list[PortalTripStepOut]


class PortalDeliveryWindowIn(Schema):
    delivery_window_start: str | None = None
    delivery_window_end: str | None = None


def _trip(t: Any) -> dict[str, Any]:
    from aftersales.mobility.selectors import owner_trip_view

    view = owner_trip_view(t)
    return {"id": t.pk, "store": t.store.name, "plate": t.vehicle.plate, "address": t.address, "status": t.status,
            "status_label": t.get_status_display(), "window_start": t.window_start, "window_end": t.window_end,
            "delivery_window_start": t.delivery_window_start, "delivery_window_end": t.delivery_window_end,
            "driver_first_name": view["driver_first_name"], "eta": view["eta"], "can_call": view["can_call"],
            "steps": [{**s, "label": str(s["label"])} for s in view["steps"]]}


@router.get("/trips", response={200: list[PortalTripOut], **ERRORS})
def trips(request: HttpRequest) -> Any:
    """My pickups under way (the driver's first name and the expected arrival; never the driver's number)."""
    from aftersales.mobility.selectors import owner_trips

    return [_trip(t) for t in owner_trips(request.customer)]  # type: ignore[attr-defined]


@router.get("/trips/{trip_id}", response={200: PortalTripOut, **ERRORS})
def trip(request: HttpRequest, trip_id: int) -> Any:
    from aftersales.mobility.selectors import owner_trip

    return _trip(owner_trip(request.customer, trip_id))  # type: ignore[attr-defined]


@router.post("/trips/{trip_id}/delivery-window", response={200: PortalTripOut, **ERRORS})
def trip_delivery_window(request: HttpRequest, trip_id: int, payload: PortalDeliveryWindowIn) -> Any:
    """When the car should come back after the service (inside opening hours, within four hours, after the pickup)."""
    from aftersales.mobility import trips as mobility_trips
    from aftersales.mobility.selectors import owner_trip

    customer = request.customer  # type: ignore[attr-defined]
    mobility_trips.trip_delivery_window(actor=None, trip=owner_trip(customer, trip_id),
                                        window_start=payload.delivery_window_start, window_end=payload.delivery_window_end)
    return _trip(owner_trip(customer, trip_id))


# ---- the accessories shop ------------------------------------------------------------------------------------------
class PortalShopItemOut(Schema):
    id: int
    number: str
    name: str
    description: str
    price: str
    available: int
    photo_url: str


class PortalShopLineIn(Schema):
    part: int
    quantity: int


class PortalShopOrderIn(Schema):
    store: str
    items: list[PortalShopLineIn]
    fulfilment: str
    target: str = ""


class PortalShopLineOut(Schema):
    part: int
    name: str
    quantity: int
    unit_price: str
    amount: str


class PortalShopOrderOut(Schema):
    id: int
    number: str
    store: str
    status: str
    status_label: str
    fulfilment: str
    total: str
    paid: bool
    balance: str | None
    created_at: dt.datetime
    lines: list[PortalShopLineOut]


def _shop_order(order: Any) -> dict[str, Any]:
    from . import shop

    return {
        "id": order.pk, "number": order.number, "store": order.store.code, "status": order.status,
        "status_label": order.get_status_display(), "fulfilment": order.fulfilment, "total": str(order.total),
        "paid": shop.is_paid(order), "balance": str(order.invoice.balance) if order.invoice is not None else None,
        "created_at": order.created_at,
        "lines": [{"part": line.part_id, "name": line.shop_name(), "quantity": line.quantity, "unit_price": str(line.unit_price),
                   "amount": str(line.amount)} for line in order.lines.all()],
    }


@router.get("/shop/items", response={200: list[PortalShopItemOut], **ERRORS})
def shop_items(request: HttpRequest, store: str = "") -> Any:
    """What a store of the owner's group sells in the app (the owner's home store without ``store``)."""
    from . import shop

    customer = request.customer  # type: ignore[attr-defined]
    chosen = selectors.store_pick(customer, store, list(selectors.stores_for(customer)))
    if chosen is None or (store and store not in (chosen.code, str(chosen.pk))):
        raise ValidationFailed("store_unknown", _("Choose one of our stores."), "store")
    return [{"id": i.part.pk, "number": i.part.number, "name": i.part.shop_name(), "description": i.part.shop_description(),
             "price": str(i.price), "available": i.available,
             "photo_url": reverse("portal:shop_photo", args=[i.part.pk]) if i.part.online_photo else ""}
            for i in shop.catalogue(chosen)]


@router.get("/shop/orders", response={200: list[PortalShopOrderOut], **ERRORS})
def shop_orders(request: HttpRequest) -> Any:
    from . import shop

    return [_shop_order(o) for o in shop.orders_of(request.customer).prefetch_related("lines__part")[:50]]  # type: ignore[attr-defined]


@router.post("/shop/orders", response={201: PortalShopOrderOut, **ERRORS})
def shop_order_place(request: HttpRequest, payload: PortalShopOrderIn) -> Any:
    """Order: every line's quantity and the stock checked at once (fields ``qty_<part>``), the stock reserved; pickup
    orders come with a sale invoice to pay (``/shop/orders/{id}/pay``), fitting orders ride on the chosen visit
    (``target``: "ro:<id>" or "appt:<id>")."""
    from . import shop

    customer = request.customer  # type: ignore[attr-defined]
    chosen = selectors.store_pick(customer, payload.store, list(selectors.stores_for(customer)))
    if chosen is None or payload.store not in (chosen.code, str(chosen.pk)):
        raise ValidationFailed("store_unknown", _("Choose one of our stores."), "store")
    items: dict[Any, Any] = {}
    for line in payload.items:
        items[line.part] = items.get(line.part, 0) + line.quantity
    order = shop.shop_order_place(customer=customer, store=chosen, items=items, fulfilment=payload.fulfilment,
                                  target=payload.target)
    return Status(201, _shop_order(shop.order_get(customer, order.pk)))


@router.get("/shop/orders/{order_id}", response={200: PortalShopOrderOut, **ERRORS})
def shop_order_detail(request: HttpRequest, order_id: int) -> Any:
    from . import shop

    return _shop_order(shop.order_get(request.customer, order_id))  # type: ignore[attr-defined]


@router.post("/shop/orders/{order_id}/cancel", response={200: PortalShopOrderOut, **ERRORS})
def shop_order_cancel(request: HttpRequest, order_id: int) -> Any:
    from . import shop

    customer = request.customer  # type: ignore[attr-defined]
    shop.shop_order_cancel_by_owner(customer=customer, order=shop.order_get(customer, order_id))
    return _shop_order(shop.order_get(customer, order_id))


@router.post("/shop/orders/{order_id}/pay", response={201: PortalPrepayOut, **ERRORS})
def shop_order_pay(request: HttpRequest, order_id: int, payload: PortalPayIn) -> Any:
    """Start paying a pickup order's invoice online (as ``/orders/{id}/pay``)."""
    from django.http import Http404

    from aftersales.billing.online import start_online

    from . import shop

    order = shop.order_get(request.customer, order_id)  # type: ignore[attr-defined]
    if order.invoice is None or order.status in (shop.Status.CANCELLED, shop.Status.EXPIRED):
        raise Http404
    online = start_online(request, order.invoice, payload.channel, reverse("portal:shop_order_pay", args=[order_id]))
    prepay = online.prepay
    return Status(201, {"out_trade_no": online.out_trade_no, "amount": str(online.amount), "status": online.status,
                        "kind": prepay.kind if prepay else "", "url": prepay.url if prepay else "",
                        "params": dict(prepay.params) if prepay else {}})
