"""Helpers for the per-app API tests: clients for both auth methods, error checks, the endpoint register."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

# Every operation the API publishes, by router tag. ``test_openapi_lists_every_endpoint`` (stores) proves this
# register matches /api/openapi.json, and each app's ``test_unauthenticated_is_401`` walks its own part of it.
ENDPOINTS: dict[str, list[tuple[str, str]]] = {
    "analytics": [
        ("post", "/api/analytics/gross-profit"),
        ("get", "/api/analytics/min-suggestions"),
        ("post", "/api/analytics/min-suggestions/accept"),
    ],
    "assessments": [
        ("get", "/api/staff/assessments/{assessment_id}"),
        ("post", "/api/staff/assessments/{assessment_id}/propose"),
        ("post", "/api/staff/assessments/{assessment_id}/findings"),
        ("post", "/api/staff/assessments/{assessment_id}/approve"),
    ],
    "rescue": [
        ("get", "/api/staff/rescue/cases"),
        ("post", "/api/staff/rescue/cases"),
        ("get", "/api/staff/rescue/cases/{case_id}"),
        ("post", "/api/staff/rescue/cases/{case_id}/locate"),
        ("post", "/api/staff/rescue/cases/{case_id}/accept"),
        ("get", "/api/staff/rescue/cases/{case_id}/suggestions"),
        ("post", "/api/staff/rescue/cases/{case_id}/dispatch"),
        ("post", "/api/staff/rescue/cases/{case_id}/cancel"),
        ("post", "/api/staff/rescue/cases/{case_id}/confirm"),
        ("post", "/api/staff/rescue/cases/{case_id}/discard"),
        ("post", "/api/staff/rescue/cases/{case_id}/crew-accept"),
        ("post", "/api/staff/rescue/cases/{case_id}/crew-decline"),
        ("post", "/api/staff/rescue/cases/{case_id}/position"),
        ("post", "/api/staff/rescue/cases/{case_id}/on-scene"),
        ("post", "/api/staff/rescue/cases/{case_id}/finish"),
        ("post", "/api/staff/rescue/cases/{case_id}/at-store"),
        ("post", "/api/staff/rescue/cases/{case_id}/close"),
        ("post", "/api/staff/rescue/cases/{case_id}/photos"),
        ("post", "/api/staff/rescue/cases/{case_id}/sign"),
        ("post", "/api/staff/rescue/cases/{case_id}/check-in"),
        ("get", "/api/staff/rescue/plan"),
        ("post", "/api/staff/rescue/plan/apply"),
        ("get", "/api/staff/rescue/units"),
        ("post", "/api/staff/rescue/units"),
        ("post", "/api/staff/rescue/units/{unit_id}/duty"),
        ("get", "/api/staff/rescue/shifts"),
        ("post", "/api/staff/rescue/units/{unit_id}/shifts"),
        ("put", "/api/staff/rescue/shifts/{shift_id}"),
        ("delete", "/api/staff/rescue/shifts/{shift_id}"),
        ("get", "/api/staff/rescue/figures"),
    ],
    "stores": [
        ("get", "/api/stores/"),
        ("get", "/api/stores/{store_id}"),
    ],
    "staff": [
        ("get", "/api/staff/"),
        ("get", "/api/staff/tokens"),
        ("post", "/api/staff/tokens"),
        ("delete", "/api/staff/tokens/{token_id}"),
        ("get", "/api/staff/{staff_id}"),
    ],
    "customers": [
        ("get", "/api/customers/"),
        ("post", "/api/customers/"),
        ("get", "/api/customers/completeness"),
        ("post", "/api/customers/attach"),
        ("post", "/api/customers/attach/{attach_id}/confirm"),
        ("post", "/api/customers/attach/{attach_id}/approve"),
        ("get", "/api/customers/{customer_id}"),
        ("patch", "/api/customers/{customer_id}"),
        ("post", "/api/customers/{customer_id}/consents"),
        ("get", "/api/customers/{customer_id}/export"),
    ],
    "vehicles": [
        ("get", "/api/vehicles/"),
        ("post", "/api/vehicles/"),
        ("get", "/api/vehicles/{vehicle_id}"),
        ("patch", "/api/vehicles/{vehicle_id}"),
        ("post", "/api/vehicles/{vehicle_id}/transfer"),
        ("get", "/api/vehicles/{vehicle_id}/mileage"),
        ("post", "/api/vehicles/{vehicle_id}/mileage"),
    ],
    "messaging": [
        ("get", "/api/messaging/messages"),
        ("get", "/api/messaging/messages/{message_id}"),
        ("post", "/api/messaging/messages/{message_id}/retry"),
        ("get", "/api/messaging/templates"),
        ("put", "/api/messaging/templates"),
        ("post", "/api/messaging/templates/preview"),
    ],
    "parts": [
        ("get", "/api/parts/"),
        ("post", "/api/parts/"),
        ("get", "/api/parts/reservations"),
        ("post", "/api/parts/reservations"),
        ("post", "/api/parts/reservations/{reservation_id}/release"),
        ("get", "/api/parts/adjustments"),
        ("post", "/api/parts/adjustments/{adjustment_id}/decide"),
        ("get", "/api/parts/stock-items/{item_id}/movements"),
        ("get", "/api/parts/movements/{movement_id}"),
        ("get", "/api/parts/{part_id}"),
        ("patch", "/api/parts/{part_id}"),
        ("get", "/api/parts/{part_id}/stock"),
        ("get", "/api/parts/{part_id}/movements"),
        ("post", "/api/parts/{part_id}/receive"),
        ("post", "/api/parts/{part_id}/issue"),
        ("post", "/api/parts/{part_id}/return"),
        ("post", "/api/parts/{part_id}/adjust"),
    ],
    "appointments": [
        ("get", "/api/appointments/service-types"),
        ("get", "/api/appointments/availability"),
        ("get", "/api/appointments/availability/window"),
        ("get", "/api/appointments/"),
        ("post", "/api/appointments/"),
        ("get", "/api/appointments/arrivals"),
        ("get", "/api/appointments/preparation"),
        ("get", "/api/appointments/{appointment_id}"),
        ("post", "/api/appointments/{appointment_id}/reschedule"),
        ("post", "/api/appointments/{appointment_id}/cancel"),
        ("post", "/api/appointments/{appointment_id}/no-show"),
        ("post", "/api/appointments/{appointment_id}/arrive"),
    ],
    "billing": [
        ("post", "/api/billing/orders/{order_id}/invoice"),
        ("get", "/api/billing/invoices/{invoice_id}"),
        ("post", "/api/billing/invoices/{invoice_id}/payments"),
        ("post", "/api/billing/payments/{payment_id}/refunds"),
        ("post", "/api/billing/payments/{payment_id}/provider-refunds"),
        ("get", "/api/billing/invoices/{invoice_id}/provider-refunds"),
        ("post", "/api/billing/invoices/{invoice_id}/credit-notes"),
        ("post", "/api/billing/orders/{order_id}/credit"),
        ("post", "/api/billing/orders/{order_id}/deliver"),
        ("get", "/api/billing/orders/{order_id}/documents/{kind}"),
    ],
    "reception": [
        ("post", "/api/reception/handovers"),
        ("get", "/api/reception/handovers/{handover_id}"),
        ("patch", "/api/reception/handovers/{handover_id}"),
        ("post", "/api/reception/handovers/{handover_id}/marks"),
        ("delete", "/api/reception/handovers/{handover_id}/marks/{mark_id}"),
        ("post", "/api/reception/handovers/{handover_id}/photos"),
        ("post", "/api/reception/handovers/{handover_id}/request-signature"),
        ("post", "/api/reception/handovers/{handover_id}/sign"),
        ("post", "/api/reception/handovers/{handover_id}/open-order"),
        ("get", "/api/reception/handovers/{handover_id}/pdf"),
        ("get", "/api/reception/walk-in-figures"),
    ],
    "engagement": [
        ("get", "/api/engagement/customers/{customer_id}/tier"),
        ("get", "/api/engagement/customers/{customer_id}/tier-history"),
        ("put", "/api/engagement/customers/{customer_id}/dedicated-advisor"),
        ("get", "/api/engagement/segments"),
        ("post", "/api/engagement/segments"),
        ("get", "/api/engagement/segments/{segment_id}"),
        ("get", "/api/engagement/segments/{segment_id}/customers"),
        ("get", "/api/engagement/report"),
        ("get", "/api/engagement/imports/{job_id}"),
    ],
    "loyalty": [
        ("get", "/api/loyalty/customers/{customer_id}/balance"),
        ("get", "/api/loyalty/customers/{customer_id}/ledger"),
        ("post", "/api/loyalty/customers/{customer_id}/adjust"),
        ("post", "/api/loyalty/customers/{customer_id}/behaviour"),
        ("get", "/api/loyalty/customers/{customer_id}/vouchers"),
        ("get", "/api/loyalty/templates"),
        ("post", "/api/loyalty/vouchers"),
        ("post", "/api/loyalty/vouchers/redeem-check"),
        ("get", "/api/loyalty/referrals"),
        ("post", "/api/loyalty/referrals"),
        ("get", "/api/loyalty/referrals/report"),
    ],
    "feedback": [
        ("get", "/api/feedback/cases"),
        ("post", "/api/feedback/cases"),
        ("get", "/api/feedback/cases/{case_id}"),
        ("post", "/api/feedback/cases/{case_id}/transition"),
        ("post", "/api/feedback/cases/{case_id}/label"),
        ("post", "/api/feedback/cases/{case_id}/contact"),
        ("get", "/api/feedback/followups"),
        ("post", "/api/feedback/followups/{followup_id}/answer"),
        ("post", "/api/feedback/followups/{followup_id}/attempt"),
        ("get", "/api/feedback/satisfaction"),
    ],
    "care": [
        ("get", "/api/care/reminders"),
        ("post", "/api/care/reminders/{reminder_id}/action"),
        ("get", "/api/care/coverage"),
        ("get", "/api/care/playbooks"),
        ("get", "/api/care/playbooks/{playbook_id}"),
        ("post", "/api/care/playbooks/{playbook_id}/activate"),
        ("post", "/api/care/playbooks/{playbook_id}/deactivate"),
    ],
    "inspections": [
        ("get", "/api/inspections/checklists"),
        ("post", "/api/inspections/checklists"),
        ("get", "/api/inspections/checklists/{checklist_id}"),
        ("put", "/api/inspections/checklists/{checklist_id}"),
        ("get", "/api/inspections/report-coverage"),
        ("get", "/api/inspections/qc/figures"),
        ("get", "/api/inspections/qc/orders/{order_id}"),
        ("post", "/api/inspections/qc/orders/{order_id}/checks"),
        ("get", "/api/inspections/"),
        ("post", "/api/inspections/orders/{order_id}/start"),
        ("get", "/api/inspections/{inspection_id}"),
        ("patch", "/api/inspections/{inspection_id}/items/{item_id}"),
        ("post", "/api/inspections/{inspection_id}/items/{item_id}/photos"),
        ("patch", "/api/inspections/{inspection_id}/diagnosis"),
        ("post", "/api/inspections/{inspection_id}/complete"),
        ("post", "/api/inspections/{inspection_id}/propose-jobs"),
        ("post", "/api/inspections/{inspection_id}/send-report"),
    ],
    "workshop": [
        ("get", "/api/workshop/board"),
        ("get", "/api/workshop/my-jobs"),
        ("get", "/api/workshop/jobs/{job_id}/suggestions"),
        ("post", "/api/workshop/jobs/{job_id}/dispatch"),
        ("post", "/api/workshop/jobs/{job_id}/clock-on"),
        ("post", "/api/workshop/clock-off"),
        ("post", "/api/workshop/jobs/{job_id}/finish"),
        ("post", "/api/workshop/orders"),
        ("get", "/api/workshop/orders/{order_id}/jobs"),
        ("post", "/api/workshop/orders/{order_id}/waiting-parts"),
        ("post", "/api/workshop/orders/{order_id}/promised"),
        ("post", "/api/workshop/orders/{order_id}/public-note"),
        ("get", "/api/workshop/orders/{order_id}/parts"),
        ("post", "/api/workshop/jobs/{job_id}/parts/issue"),
        ("post", "/api/workshop/jobs/{job_id}/parts/return"),
        ("post", "/api/workshop/lines/{line_id}/keep-old-part"),
        ("get", "/api/workshop/efficiency"),
        ("get", "/api/workshop/progress-intervals"),
    ],
    "estimates": [
        ("get", "/api/estimates/operations"),
        ("post", "/api/estimates/diagnose"),
        ("post", "/api/estimates/fault-photos"),
        ("post", "/api/estimates/operations"),
        ("get", "/api/estimates/rates"),
        ("put", "/api/estimates/rates"),
        ("get", "/api/estimates/orders"),
        ("get", "/api/estimates/orders/{order_id}"),
        ("post", "/api/estimates/orders/{order_id}/operations"),
        ("post", "/api/estimates/orders/{order_id}/canned-jobs"),
        ("post", "/api/estimates/orders/{order_id}/jobs"),
        ("patch", "/api/estimates/orders/{order_id}/jobs/{job_id}"),
        ("delete", "/api/estimates/orders/{order_id}/jobs/{job_id}"),
        ("post", "/api/estimates/orders/{order_id}/options"),
        ("post", "/api/estimates/orders/{order_id}/send"),
        ("post", "/api/estimates/orders/{order_id}/withdraw"),
        ("post", "/api/estimates/orders/{order_id}/phone-approval"),
        ("post", "/api/estimates/orders/{order_id}/tablet-approval"),
        ("post", "/api/estimates/orders/{order_id}/additional-work"),
        ("get", "/api/estimates/orders/{order_id}/authorizations"),
        ("get", "/api/estimates/orders/{order_id}/authorized-total"),
        ("post", "/api/estimates/orders/{order_id}/repropose"),
        ("get", "/api/estimates/vehicles/{vehicle_id}/declined"),
    ],
    "telematics": [
        ("get", "/api/telematics/devices"),
        ("post", "/api/telematics/devices"),
        ("get", "/api/telematics/devices/{device_pk}"),
        ("post", "/api/telematics/devices/{device_pk}/rotate"),
        ("post", "/api/telematics/devices/{device_pk}/revoke"),
        ("get", "/api/telematics/devices/{device_pk}/readings"),
        ("get", "/api/telematics/alerts"),
        ("post", "/api/telematics/alerts/{alert_id}/close"),
        ("get", "/api/telematics/rules"),
        ("patch", "/api/telematics/rules/{kind}"),
        ("get", "/api/telematics/codes/{code}"),
    ],
    "people": [
        ("get", "/api/people/certifications"),
        ("post", "/api/people/certifications"),
        ("post", "/api/people/certifications/{certification_id}/withdraw"),
        ("post", "/api/people/certifications/{certification_id}"),
        ("get", "/api/people/me/certifications"),
        ("get", "/api/people/settings"),
        ("put", "/api/people/settings"),
        ("get", "/api/people/complaint-flags"),
        ("get", "/api/people/training-assignments"),
        ("post", "/api/people/training-assignments"),
        ("get", "/api/people/referral-rewards"),
        ("post", "/api/people/referral-rewards/pay"),
        ("get", "/api/people/receptions"),
        ("post", "/api/people/receptions"),
        ("get", "/api/people/meetings/{month}"),
        ("post", "/api/people/meetings/{month}"),
        ("post", "/api/people/meetings/{month}/actions"),
        ("post", "/api/people/improvement-actions/{action_id}/status"),
    ],
    "mobility": [
        ("get", "/api/mobility/cars"),
        ("post", "/api/mobility/cars"),
        ("get", "/api/mobility/cars/{car_id}"),
        ("patch", "/api/mobility/cars/{car_id}"),
        ("get", "/api/mobility/free-cars"),
        ("get", "/api/mobility/bookings"),
        ("post", "/api/mobility/bookings"),
        ("get", "/api/mobility/bookings/{booking_id}"),
        ("post", "/api/mobility/bookings/{booking_id}/cancel"),
        ("post", "/api/mobility/bookings/{booking_id}/marks"),
        ("post", "/api/mobility/bookings/{booking_id}/photos"),
        ("post", "/api/mobility/bookings/{booking_id}/hand-out"),
        ("post", "/api/mobility/bookings/{booking_id}/return"),
        ("get", "/api/mobility/waitlist"),
        ("post", "/api/mobility/waitlist"),
        ("post", "/api/mobility/waitlist/{entry_id}/cancel"),
        ("get", "/api/mobility/do-not-lend"),
        ("post", "/api/mobility/do-not-lend"),
        ("delete", "/api/mobility/do-not-lend/{entry_id}"),
        ("get", "/api/mobility/trips"),
        ("post", "/api/mobility/trips"),
        ("get", "/api/mobility/trips/{trip_id}"),
        ("post", "/api/mobility/trips/{trip_id}/schedule"),
        ("post", "/api/mobility/trips/{trip_id}/move"),
        ("post", "/api/mobility/trips/{trip_id}/delivery-window"),
        ("put", "/api/mobility/service-area"),
    ],
}

#: endpoints without staff authentication (their own check is tested where they live)
PUBLIC_ENDPOINTS: list[tuple[str, str]] = [
    ("post", "/api/messaging/sms/inbound"),  # the SMS provider's callback, authenticated by a shared secret
    ("get", "/api/estimates/public/estimates/{token}"),  # the customer's signed link (tested in estimates)
    ("post", "/api/estimates/public/estimates/{token}/decision"),
    ("get", "/api/estimates/public/orders/{token}"),
    # the owner app: the owner's own session, never a staff login (tested in aftersales/portal/tests)
    ("get", "/api/portal/me"),
    ("get", "/api/portal/cars"),
    ("get", "/api/portal/orders/{order_id}"),
    ("get", "/api/portal/appointments"),
    ("post", "/api/portal/appointments"),
    ("post", "/api/portal/appointments/{appointment_id}/cancel"),
    ("get", "/api/portal/orders/{order_id}/pay"),
    ("post", "/api/portal/orders/{order_id}/pay"),
    ("get", "/api/portal/orders/{order_id}/payments/{out_trade_no}"),
    ("post", "/api/portal/orders/{order_id}/pay/points"),
    ("post", "/api/portal/orders/{order_id}/pay/voucher"),
    ("get", "/api/portal/orders/{order_id}/rate"),
    ("post", "/api/portal/orders/{order_id}/rate"),
    ("get", "/api/portal/privacy"),
    ("put", "/api/portal/privacy/consents"),
    ("put", "/api/portal/privacy/quiet-hours"),
    ("get", "/api/portal/privacy/export"),
    ("post", "/api/portal/privacy/deletion-request"),
    ("get", "/api/portal/trips"),
    ("get", "/api/portal/trips/{trip_id}"),
    ("post", "/api/portal/trips/{trip_id}/delivery-window"),
    ("get", "/api/portal/shop/items"),
    ("get", "/api/portal/shop/orders"),
    ("post", "/api/portal/shop/orders"),
    ("get", "/api/portal/shop/orders/{order_id}"),
    ("post", "/api/portal/shop/orders/{order_id}/cancel"),
    ("post", "/api/portal/shop/orders/{order_id}/pay"),
    ("post", "/api/telematics/gateway"),  # vendors' gateways: HMAC-signed per device (tested in aftersales/telematics)
]


def fill(path: str, ident: int = 1) -> str:
    """A concrete URL for a path template (every placeholder replaced by ``ident``)."""
    import re

    return re.sub(r"\{[a-z_]+\}", str(ident), path)


class Api:
    """A JSON client for /api/: ``Api.session(user)`` or ``Api.bearer(key)``; methods return responses."""

    def __init__(self, client: Client | None = None, headers: dict[str, str] | None = None) -> None:
        self.client = client or Client()
        self.headers = headers or {}

    @classmethod
    def anonymous(cls, **kwargs: Any) -> Api:
        return cls(Client(**kwargs))

    @classmethod
    def session(cls, user: Any, **kwargs: Any) -> Api:
        client = Client(**kwargs)
        client.force_login(user)
        return cls(client)

    @classmethod
    def bearer(cls, key: str) -> Api:
        return cls(Client(), {"Authorization": f"Bearer {key}"})

    def request(self, method: str, path: str, data: Any = None, **extra: Any) -> Any:
        call = getattr(self.client, method.lower())
        headers = {**self.headers, **extra.pop("headers", {})}
        if method.lower() in ("get", "delete") and data is None:
            return call(path, headers=headers, **extra)
        if method.lower() == "get":
            return call(path, data, headers=headers, **extra)
        body = json.dumps(data if data is not None else {})
        return call(path, body, content_type="application/json", headers=headers, **extra)

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self.request("get", path, params, **extra)

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("post", path, data, **extra)

    def patch(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("patch", path, data, **extra)

    def put(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.request("put", path, data, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.request("delete", path, **extra)


def token_issuer(store: Any) -> Any:
    """A superuser working at ``store``: the one who may issue tokens for roles holding what no manager holds
    (technicians, foremen and QC inspectors sign quality checks in their own name)."""
    from aftersales.staff.models import StoreMembership, User

    user, created = User.objects.get_or_create(
        username=f"root-{store.code}", defaults={"is_superuser": True, "is_staff": True, "dealer_group_id": store.group_id}
    )
    if created:
        StoreMembership.objects.create(user=user, store=store, is_primary=True)
    return User.objects.get(pk=user.pk)


def token_key_for(user: Any, *, actor: Any, name: str = "tests") -> str:
    """A bearer key for ``user``, issued by ``actor`` (who must manage tokens and may act for ``user``:
    ``staff.selectors.staff_actable_by``)."""
    from aftersales.staff.services import token_create

    _token, key = token_create(actor=actor, user=user, name=name)
    return key


def assert_error(
    response: Any, status: int, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """The response is a ``{code, message, field}`` error with this status (and code / field when given)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert {"code", "message", "field"} <= set(body), body
    assert body["message"], body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"items", "count"}, body
    return {row["id"] for row in body["items"]}


def count_queries(call: Any) -> tuple[int, Any]:
    """Run ``call()`` and return (number of queries, its result)."""
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return len(ctx.captured_queries), result
