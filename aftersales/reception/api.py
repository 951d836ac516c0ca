"""The reception API (/api/reception): the handover sheet and inquiry of an arriving car, and the order it opens."""

import datetime as dt
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store, get_or_404

from . import selectors, services
from .models import DamageMark

router = Router(tags=["reception"])


class MarkOut(Schema):
    id: int
    x: float
    y: float
    kind: str
    note: str


class HandoverPhotoOut(Schema):
    id: int
    url: str
    caption: str
    mark_id: int | None
    width: int
    height: int

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return obj.image.url


class HandoverOut(Schema):
    id: int
    store_id: int
    customer_id: int
    vehicle_id: int
    appointment_id: int | None
    order_id: int | None
    order_number: str | None = None
    status: str
    mileage: int | None
    energy_level: int | None
    exterior: str
    exterior_notes: str
    interior: str
    interior_notes: str
    belongings: str
    warning_lights: str
    since: str
    frequency: str
    conditions: list[str]
    customer_words: str
    restatement: str
    extra_requests: list[str]
    promised_at: dt.datetime | None
    signer_name: str
    signed_at: dt.datetime | None
    signed_via: str
    created_at: dt.datetime
    marks: list[MarkOut]
    photos: list[HandoverPhotoOut]

    @staticmethod
    def resolve_order_number(obj: Any) -> str | None:
        return obj.order.number if obj.order_id else None

    @staticmethod
    def resolve_marks(obj: Any) -> list[Any]:
        return list(obj.marks.all())

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return list(obj.photos.all())


class HandoverStartIn(Schema):
    appointment_id: int | None = None
    vehicle_id: int | None = None
    store_id: int | None = None


class SheetIn(Schema):
    mileage: int | None = None
    energy_level: int | None = None
    exterior: str | None = None
    exterior_notes: str | None = None
    interior: str | None = None
    interior_notes: str | None = None
    belongings: str | None = None
    warning_lights: str | None = None
    since: str | None = None
    frequency: str | None = None
    conditions: list[str] | None = None
    customer_words: str | None = None
    restatement: str | None = None
    extra_requests: list[str] | None = None
    promised_at: dt.datetime | None = None


class MarkIn(Schema):
    x: float
    y: float
    kind: str = "scratch"
    note: str = ""


class SignIn(Schema):
    signature: str
    signer_name: str = ""


class HandoverOrderOut(Schema):
    id: int
    number: str
    status: str


def _get(request: Any, handover_id: int) -> Any:
    user = request_user(request)
    require(user, "reception.view_handover")
    return user, selectors.handover_get(user, handover_id)


@router.post("/handovers", response={201: HandoverOut, **ERRORS})
def start(request: Any, payload: HandoverStartIn) -> Any:
    user = request_user(request)
    require(user, "reception.add_handover")
    if payload.appointment_id:
        from aftersales.appointments.selectors import appointment_get

        handover = services.handover_start(actor=user, appointment=appointment_get(user, payload.appointment_id))
    elif payload.vehicle_id:
        from aftersales.vehicles.selectors import vehicle_get

        store = default_store(user, payload.store_id)
        handover = services.handover_start(actor=user, store=store, vehicle=vehicle_get(user, payload.vehicle_id))
    else:
        raise ValidationFailed("required", _("Pick the appointment or the vehicle."), "vehicle_id")
    return Status(201, selectors.handover_get(user, handover.pk))


@router.get("/handovers/{handover_id}", response={200: HandoverOut, **ERRORS})
def detail(request: Any, handover_id: int) -> Any:
    return _get(request, handover_id)[1]


@router.patch("/handovers/{handover_id}", response={200: HandoverOut, **ERRORS})
def update(request: Any, handover_id: int, payload: SheetIn) -> Any:
    user, handover = _get(request, handover_id)
    services.handover_update(actor=user, handover=handover, data=payload.dict(exclude_unset=True))
    return selectors.handover_get(user, handover_id)


@router.post("/handovers/{handover_id}/marks", response={201: MarkOut, **ERRORS})
def add_mark(request: Any, handover_id: int, payload: MarkIn) -> Any:
    user, handover = _get(request, handover_id)
    return Status(201, services.damage_mark_add(actor=user, handover=handover, **payload.dict()))


@router.delete("/handovers/{handover_id}/marks/{mark_id}", response={204: None, **ERRORS})
def remove_mark(request: Any, handover_id: int, mark_id: int) -> Any:
    user, handover = _get(request, handover_id)
    services.damage_mark_remove(actor=user, mark=get_or_404(DamageMark.objects.select_related("handover"), pk=mark_id, handover=handover))
    return Status(204, None)


@router.post("/handovers/{handover_id}/photos", response={201: HandoverPhotoOut, **ERRORS})
def add_photo(
    request: Any, handover_id: int, photo: File[UploadedFile], caption: Form[str] = "", mark_id: Form[int | None] = None
) -> Any:
    user, handover = _get(request, handover_id)
    mark = get_or_404(DamageMark.objects.all(), pk=mark_id, handover=handover) if mark_id else None
    if photo.size and photo.size > 64 * 1024 * 1024:
        raise ValidationFailed("file_too_large", _("The file is too large."), "photo")
    return Status(201, services.photo_add(actor=user, handover=handover, content=photo.read(), caption=caption, mark=mark))


@router.post("/handovers/{handover_id}/request-signature", response={200: HandoverOut, **ERRORS})
def request_signature(request: Any, handover_id: int) -> Any:
    user, handover = _get(request, handover_id)
    services.handover_request_signature(actor=user, handover=handover)
    return selectors.handover_get(user, handover_id)


@router.post("/handovers/{handover_id}/sign", response={200: HandoverOut, **ERRORS})
def sign(request: Any, handover_id: int, payload: SignIn) -> Any:
    user, handover = _get(request, handover_id)
    services.handover_sign(actor=user, handover=handover, signature=payload.signature, signer_name=payload.signer_name)
    return selectors.handover_get(user, handover_id)


@router.post("/handovers/{handover_id}/open-order", response={201: HandoverOrderOut, **ERRORS})
def open_order(request: Any, handover_id: int) -> Any:
    user, handover = _get(request, handover_id)
    return Status(201, services.handover_open_order(actor=user, handover=handover))


@router.get("/handovers/{handover_id}/pdf", response={200: None, **ERRORS})
def handover_pdf(request: Any, handover_id: int, lang: str = "zh-hans") -> Any:
    from .pdf import handover_pdf as render

    _user, handover = _get(request, handover_id)
    if lang not in ("zh-hans", "en"):
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": lang}, "lang")
    response = HttpResponse(render(handover, lang), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-{handover.pk}-{lang}.pdf"'
    return response


@router.get("/walk-in-figures", response={200: dict, **ERRORS})
def walk_in_figures(request: Any, start: dt.date, end: dt.date, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "appointments.view_appointment")
    if end < start or (end - start).days > 366:
        raise ValidationFailed("date_range", _("Pick a period of at most a year, end after start."), "end")
    return selectors.walk_in_figures(user, default_store(user, store_id), start, end)
