from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import JsonResponse
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store
from aftersales.common.validators import display_mobile, mask_mobile

from .selectors import completeness_report, current_consents, customer_get, customer_list, customers_visible_to
from .services import consent_record, customer_create, customer_export, customer_update

router = Router(tags=["customers"])


def _mobile_for(obj: Any, context: Any) -> str:
    request = context.get("request") if context else None
    user = request_user(request) if request is not None else None
    if user is not None and user.has_perm("customers.view_full_mobile"):
        return display_mobile(obj.mobile)
    return mask_mobile(obj.mobile)


class ConsentIn(Schema):
    purpose: str
    channel: str
    granted: bool
    source: str
    note: str = ""


class ConsentOut(Schema):
    purpose: str
    channel: str
    granted: bool
    at: dt.datetime
    source: str
    note: str


class CustomerOut(Schema):
    id: int
    name: str
    title: str
    greeting: str
    mobile: str
    email: str
    address: str
    birthday: dt.date | None
    preferred_channel: str
    preferred_advisor_id: int | None
    home_store_id: int | None
    preferences: str
    notes: str
    points_balance: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_mobile(obj: Any, context: Any) -> str:
        return _mobile_for(obj, context)


class VehicleBrief(Schema):
    id: int
    vin: str
    plate: str
    make: str
    model: str
    current_mileage: int


class CustomerDetailOut(CustomerOut):
    vehicles: list[VehicleBrief]
    consents: list[ConsentOut]
    tags: list[str]
    store_ids: list[int]

    @staticmethod
    def resolve_vehicles(obj: Any) -> list[Any]:
        return list(obj.vehicles.all())

    @staticmethod
    def resolve_consents(obj: Any) -> list[Any]:
        return list(current_consents(list(obj.consents.all())).values())

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_store_ids(obj: Any) -> list[int]:
        return sorted(link.store_id for link in obj.store_links.all())


class CustomerIn(Schema):
    name: str
    mobile: str
    title: str = ""
    email: str = ""
    address: str = ""
    birthday: str | None = None
    preferred_channel: str = "sms"
    preferred_advisor_id: int | None = None
    preferences: str = ""
    notes: str = ""
    store_id: int | None = None
    consents: list[ConsentIn] = []


class CustomerPatch(Schema):
    name: str | None = None
    mobile: str | None = None
    title: str | None = None
    email: str | None = None
    address: str | None = None
    birthday: str | None = None
    preferred_channel: str | None = None
    preferred_advisor_id: int | None = None
    preferences: str | None = None
    notes: str | None = None
    reason: str = ""


class AttachIn(Schema):
    mobile: str
    store_id: int | None = None


class CompletenessOut(Schema):
    total: int
    incomplete: int
    complete_pct: float


def _detail(user: Any, customer_id: int) -> Any:
    return customer_get(user, customer_id)


@router.get("/", response={200: list[CustomerOut], **ERRORS})
@paginate(PageNumberPagination, page_size=25)
def list_customers(request: Any, q: str = "", store_id: int | None = None, tag: str = "", incomplete: bool = False) -> Any:
    user = request_user(request)
    require(user, "customers.view_customer")
    return customer_list(user, q=q, store_id=store_id, tag=tag, incomplete=incomplete)


@router.post("/", response={201: CustomerDetailOut, **ERRORS})
def create_customer(request: Any, payload: CustomerIn) -> Any:
    user = request_user(request)
    require(user, "customers.add_customer")
    data = payload.dict()
    store = default_store(user, data.pop("store_id"))
    data["preferred_advisor"] = data.pop("preferred_advisor_id")
    consents = data.pop("consents")
    customer = customer_create(actor=user, store=store, consents=consents, **data)
    return Status(201, _detail(user, customer.pk))


@router.get("/completeness", response={200: CompletenessOut, **ERRORS})
def completeness(request: Any) -> Any:
    user = request_user(request)
    require(user, "customers.view_incomplete")
    return completeness_report(user)


class AttachPendingOut(Schema):
    attach_id: int
    expires_at: Any
    mobile_masked: str


class AttachConfirmIn(Schema):
    code: str = ""


class AttachApproveIn(Schema):
    reason: str = ""


@router.post("/attach", response={200: CustomerDetailOut, 202: AttachPendingOut, **ERRORS})
def attach_customer(request: Any, payload: AttachIn) -> Any:
    """Make a group customer known at a store: 202 with the request while the customer's texted code (or a manager's
    approval) is awaited; 200 with the customer when already known at the store."""
    from aftersales.common.validators import mask_mobile, normalize_mobile

    from .services import customer_attach_request

    user = request_user(request)
    store = default_store(user, payload.store_id)
    attach = customer_attach_request(actor=user, store=store, mobile=payload.mobile)
    if attach is None:
        customer = customers_visible_to(user).get(mobile=normalize_mobile(payload.mobile, "mobile"))
        return _detail(user, customer.pk)
    return Status(202, {"attach_id": attach.pk, "expires_at": attach.expires_at,
                        "mobile_masked": mask_mobile(attach.customer.mobile)})


@router.post("/attach/{attach_id}/confirm", response={200: CustomerDetailOut, **ERRORS})
def attach_confirm(request: Any, attach_id: int, payload: AttachConfirmIn) -> Any:
    from .services import attach_request_get, customer_attach_confirm

    user = request_user(request)
    customer = customer_attach_confirm(actor=user, request=attach_request_get(user, attach_id), code=payload.code)
    return _detail(user, customer.pk)


@router.post("/attach/{attach_id}/approve", response={200: CustomerDetailOut, **ERRORS})
def attach_approve(request: Any, attach_id: int, payload: AttachApproveIn) -> Any:
    from .services import attach_request_get, customer_attach_approve

    user = request_user(request)
    customer = customer_attach_approve(actor=user, request=attach_request_get(user, attach_id), reason=payload.reason)
    return _detail(user, customer.pk)


@router.get("/{customer_id}", response={200: CustomerDetailOut, **ERRORS})
def get_customer(request: Any, customer_id: int) -> Any:
    user = request_user(request)
    require(user, "customers.view_customer")
    return _detail(user, customer_id)


@router.patch("/{customer_id}", response={200: CustomerDetailOut, **ERRORS})
def update_customer(request: Any, customer_id: int, payload: CustomerPatch) -> Any:
    user = request_user(request)
    require(user, "customers.change_customer")
    customer = customer_get(user, customer_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    if "preferred_advisor_id" in data:
        data["preferred_advisor"] = data.pop("preferred_advisor_id")
    customer_update(actor=user, customer=customer, reason=reason, **data)
    return _detail(user, customer_id)


@router.post("/{customer_id}/consents", response={201: ConsentOut, **ERRORS})
def add_consent(request: Any, customer_id: int, payload: ConsentIn) -> Any:
    user = request_user(request)
    customer = customer_get(user, customer_id)
    return Status(201, consent_record(actor=user, customer=customer, **payload.dict()))


@router.get("/{customer_id}/export", response={200: dict, **ERRORS})
def export_customer(request: Any, customer_id: int) -> Any:
    user = request_user(request)
    require(user, "customers.export_customer")
    customer = customer_get(user, customer_id)
    response = JsonResponse(customer_export(actor=user, customer=customer), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response
