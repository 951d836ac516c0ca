"""The rescue API (/api/staff/rescue): cases, the dispatch suggestion and the optimal plan, dispatch, the crew's
moves and positions, photos, signature, check-in at the store, units and the figures. Errors are {code, message,
field} (bad input also lists every bad field in ``errors``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services
from .choices import CaseStatus

router = Router(tags=["rescue"])

Number = float | str | None


class RescueEventOut(Schema):
    from_state: str
    to_state: str
    at: dt.datetime
    lat: float | None
    lng: float | None
    reason: str


class RescuePhotoOut(Schema):
    id: int
    url: str
    caption: str
    by_customer: bool

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return obj.image.url


class RescueCaseOut(Schema):
    id: int
    number: str
    store_id: int
    customer_id: int | None
    vehicle_id: int | None
    source: str
    incident: str
    drivable: bool | None
    description: str
    address: str
    lat: float
    lng: float
    approximate: bool
    status: str
    unit_id: int | None
    requested_at: dt.datetime
    dispatched_at: dt.datetime | None
    crew_accepted_at: dt.datetime | None
    promised_at: dt.datetime | None
    eta_at: dt.datetime | None
    on_scene_at: dt.datetime | None
    closed_at: dt.datetime | None
    work_done: str
    signed_at: dt.datetime | None
    handover_id: int | None
    events: list[RescueEventOut]
    photos: list[RescuePhotoOut]

    @staticmethod
    def resolve_events(obj: Any) -> list[Any]:
        return list(obj.events.all())

    @staticmethod
    def resolve_photos(obj: Any) -> list[Any]:
        return list(obj.photos.all())


class RescueCaseRow(Schema):
    id: int
    number: str
    status: str
    incident: str
    lat: float
    lng: float
    unit_id: int | None
    eta_at: dt.datetime | None
    requested_at: dt.datetime


class RescueCaseIn(Schema):
    incident: str | None = None
    lat: Number = None
    lng: Number = None
    address: str = ""
    drivable: bool | None = None
    description: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    vehicle_id: int | None = None
    store_id: int | None = None


class RescuePointIn(Schema):
    lat: Number = None
    lng: Number = None


class RescueDispatchIn(Schema):
    unit_id: int


class RescueReasonIn(Schema):
    reason: str = ""


class RescueFinishIn(Schema):
    work_done: str = ""
    tow: bool = False


class RescueSignIn(Schema):
    signature: str
    signer_name: str = ""


class RescueSuggestionOut(Schema):
    unit_id: int
    unit_name: str
    minutes: int
    km: float


class RescuePlanOut(Schema):
    case_id: int
    unit_id: int
    minutes: int


class RescueUnitOut(Schema):
    id: int
    store_id: int
    name: str
    kind: str
    capabilities: list[str]
    status: str
    case_id: int | None
    lat: float | None
    lng: float | None
    position_at: dt.datetime | None
    crew_ids: list[int]

    @staticmethod
    def resolve_crew_ids(obj: Any) -> list[int]:
        return [u.pk for u in obj.crew.all()]


class RescueUnitIn(Schema):
    name: str = ""
    kind: str | None = None
    capabilities: list[str] = []
    crew_ids: list[int] = []
    plate: str = ""
    lat: Number = None
    lng: Number = None
    store_id: int | None = None


class RescueDutyIn(Schema):
    on_duty: bool


class RescueShiftOut(Schema):
    id: int
    unit_id: int
    days: str
    weekdays: list[int]
    starts: str
    ends: str
    overnight: bool
    crew_ids: list[int]

    @staticmethod
    def resolve_starts(obj: Any) -> str:
        return f"{obj.starts:%H:%M}"

    @staticmethod
    def resolve_ends(obj: Any) -> str:
        return f"{obj.ends:%H:%M}"

    @staticmethod
    def resolve_crew_ids(obj: Any) -> list[int]:
        return [u.pk for u in obj.crew.all()]


class RescueShiftIn(Schema):
    days: str | None = None
    weekdays: list[Any] = []
    starts: str | None = None
    ends: str | None = None
    crew_ids: list[Any] = []


class RescueHandoverRef(Schema):
    handover_id: int
    case_id: int


def _case(request: Any, case_id: int) -> tuple[Any, Any]:
    user = request_user(request)
    require(user, "rescue.view_rescuecase")
    return user, selectors.case_get(user, case_id)


def _again(user: Any, case: Any) -> Any:
    return selectors.case_get(user, case.pk)


@router.get("/cases", response={200: list[RescueCaseRow], **ERRORS})
def case_list(request: Any, store_id: int | None = None, status: str | None = None) -> Any:
    """The store's open cases; ``status=draft``: the telematics drafts waiting to be confirmed."""
    user = request_user(request)
    require(user, "rescue.view_rescuecase")
    if status and status not in CaseStatus.values:
        raise ValidationFailed("invalid_choice", _("Pick one of the offered choices."), "status")
    cases = selectors.open_cases(user, default_store(user, store_id))
    return [c for c in cases if c.status == status] if status else cases


@router.post("/cases", response={201: RescueCaseOut, **ERRORS})
def case_create(request: Any, payload: RescueCaseIn) -> Any:
    user = request_user(request)
    require(user, "rescue.add_rescuecase")
    store = default_store(user, payload.store_id)
    vehicle = None
    if payload.vehicle_id:
        from aftersales.vehicles.selectors import vehicle_get

        vehicle = vehicle_get(user, payload.vehicle_id)
    case = services.case_create(
        actor=user, store=store, incident=payload.incident, lat=payload.lat, lng=payload.lng, address=payload.address,
        drivable=payload.drivable, description=payload.description, caller_name=payload.caller_name,
        caller_phone=payload.caller_phone, vehicle=vehicle,
    )
    return Status(201, _again(user, case))


@router.get("/cases/{case_id}", response={200: RescueCaseOut, **ERRORS})
def case_detail(request: Any, case_id: int) -> Any:
    return _case(request, case_id)[1]


@router.post("/cases/{case_id}/locate", response={200: RescueCaseOut, **ERRORS})
def case_locate(request: Any, case_id: int, payload: RescuePointIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_locate(actor=user, case=case, lat=payload.lat, lng=payload.lng))


@router.post("/cases/{case_id}/accept", response={200: RescueCaseOut, **ERRORS})
def case_accept(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_accept(actor=user, case=case))


@router.get("/cases/{case_id}/suggestions", response={200: list[RescueSuggestionOut], **ERRORS})
def case_suggestions(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    require(user, "rescue.dispatch_rescuecase")
    return [{"unit_id": u.pk, "unit_name": u.name, "minutes": m, "km": km} for u, m, km in selectors.suggest_units(user, case)]


@router.post("/cases/{case_id}/dispatch", response={200: RescueCaseOut, **ERRORS})
def case_dispatch(request: Any, case_id: int, payload: RescueDispatchIn) -> Any:
    user, case = _case(request, case_id)
    unit = selectors.unit_get(user, payload.unit_id)
    return _again(user, services.case_dispatch(actor=user, case=case, unit=unit))


@router.post("/cases/{case_id}/cancel", response={200: RescueCaseOut, **ERRORS})
def case_cancel(request: Any, case_id: int, payload: RescueReasonIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_cancel(actor=user, case=case, reason=payload.reason))


@router.post("/cases/{case_id}/confirm", response={200: RescueCaseOut, **ERRORS})
def case_confirm(request: Any, case_id: int) -> Any:
    """A telematics draft confirmed with the owner: it becomes a request to dispatch."""
    user, case = _case(request, case_id)
    return _again(user, services.case_confirm(actor=user, case=case))


@router.post("/cases/{case_id}/discard", response={200: RescueCaseOut, **ERRORS})
def case_discard(request: Any, case_id: int, payload: RescueReasonIn) -> Any:
    """A telematics draft dismissed as a false alarm (a draft only: 409 otherwise)."""
    user, case = _case(request, case_id)
    return _again(user, services.case_discard(actor=user, case=case, reason=payload.reason))


@router.post("/cases/{case_id}/crew-accept", response={200: RescueCaseOut, **ERRORS})
def crew_accept(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_crew_accept(actor=user, case=case))


@router.post("/cases/{case_id}/crew-decline", response={200: RescueCaseOut, **ERRORS})
def crew_decline(request: Any, case_id: int, payload: RescueReasonIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_crew_decline(actor=user, case=case, reason=payload.reason))


@router.post("/cases/{case_id}/position", response={200: RescueCaseOut, **ERRORS})
def position(request: Any, case_id: int, payload: RescuePointIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.position_post(actor=user, case=case, lat=payload.lat, lng=payload.lng))


@router.post("/cases/{case_id}/on-scene", response={200: RescueCaseOut, **ERRORS})
def on_scene(request: Any, case_id: int, payload: RescuePointIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_on_scene(actor=user, case=case, lat=payload.lat, lng=payload.lng))


@router.post("/cases/{case_id}/finish", response={200: RescueCaseOut, **ERRORS})
def finish(request: Any, case_id: int, payload: RescueFinishIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_finish_on_site(actor=user, case=case, work_done=payload.work_done, tow=payload.tow))


@router.post("/cases/{case_id}/at-store", response={200: RescueCaseOut, **ERRORS})
def at_store(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_at_store(actor=user, case=case))


@router.post("/cases/{case_id}/close", response={200: RescueCaseOut, **ERRORS})
def close(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_close(actor=user, case=case))


@router.post("/cases/{case_id}/photos", response={201: RescuePhotoOut, **ERRORS})
def add_photo(request: Any, case_id: int, photo: File[UploadedFile], caption: Form[str] = "") -> Any:
    user, case = _case(request, case_id)
    if photo.size and photo.size > 64 * 1024 * 1024:
        raise ValidationFailed("file_too_large", _("The file is too large."), "photo")
    return Status(201, services.photo_add(actor=user, case=case, content=photo.read(), caption=caption))


@router.post("/cases/{case_id}/sign", response={200: RescueCaseOut, **ERRORS})
def sign(request: Any, case_id: int, payload: RescueSignIn) -> Any:
    user, case = _case(request, case_id)
    return _again(user, services.case_sign(actor=user, case=case, signature=payload.signature, signer_name=payload.signer_name))


@router.post("/cases/{case_id}/check-in", response={201: RescueHandoverRef, **ERRORS})
def check_in(request: Any, case_id: int) -> Any:
    user, case = _case(request, case_id)
    handover = services.case_check_in(actor=user, case=case)
    return Status(201, {"handover_id": handover.pk, "case_id": case.pk})


@router.get("/plan", response={200: list[RescuePlanOut], **ERRORS})
def plan(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "rescue.dispatch_rescuecase")
    store = default_store(user, store_id)
    return [{"case_id": c.pk, "unit_id": u.pk, "minutes": m} for c, u, m in selectors.assignment_plan(user, store)]


@router.post("/plan/apply", response={200: list[RescueCaseRow], **ERRORS})
def plan_apply(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "rescue.dispatch_rescuecase")
    return services.cases_assign_optimal(actor=user, store=default_store(user, store_id))


@router.get("/units", response={200: list[RescueUnitOut], **ERRORS})
def unit_list(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "rescue.view_rescueunit")
    return selectors.units_of(user, default_store(user, store_id))


def _crew(user: Any, store: Any, ids: list[int]) -> list[Any]:
    from aftersales.staff.models import User

    members = list(User.objects.filter(pk__in=ids, memberships__store=store).distinct())
    if len(members) != len(set(ids)):
        raise ValidationFailed("crew_other_store", _("Every crew member must work at this store."), "crew_ids")
    return members


@router.post("/units", response={201: RescueUnitOut, **ERRORS})
def unit_create(request: Any, payload: RescueUnitIn) -> Any:
    user = request_user(request)
    require(user, "rescue.add_rescueunit")
    store = default_store(user, payload.store_id)
    unit = services.unit_save(actor=user, store=store, name=payload.name, kind=payload.kind, capabilities=payload.capabilities,
                              crew=_crew(user, store, payload.crew_ids), plate=payload.plate, lat=payload.lat, lng=payload.lng)
    return Status(201, selectors.unit_get(user, unit.pk))


@router.post("/units/{unit_id}/duty", response={200: RescueUnitOut, **ERRORS})
def unit_duty(request: Any, unit_id: int, payload: RescueDutyIn) -> Any:
    user = request_user(request)
    require(user, "rescue.view_rescueunit")
    unit = selectors.unit_get(user, unit_id)
    services.unit_set_duty(actor=user, unit=unit, on_duty=payload.on_duty)
    return selectors.unit_get(user, unit_id)


# ---- shifts (within the user's stores; another store's unit or shift is a 404) ----------------------------------------
def _shift_crew(unit: Any, ids: list[Any]) -> tuple[list[Any], bool]:
    """The crew members named by id among the people of the unit's store; ``True`` when an id is not one of them
    (named with the other bad fields by the service)."""
    from aftersales.staff.models import User

    wanted = {int(i) for i in ids if isinstance(i, int) or (isinstance(i, str) and i.isdigit())}
    members = list(User.objects.filter(pk__in=wanted, memberships__store_id=unit.store_id).distinct())
    return members, len(members) != len(wanted) or len(wanted) != len(set(map(str, ids)))


def _shift_out(user: Any, shift_id: int) -> Any:
    return selectors.shift_get(user, shift_id)


@router.get("/shifts", response={200: list[RescueShiftOut], **ERRORS})
def shift_list(request: Any, store_id: int | None = None, unit_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "rescue.view_rescueunit")
    store = default_store(user, store_id)
    return selectors.shifts_of(user, store, unit_id=unit_id)


@router.post("/units/{unit_id}/shifts", response={201: RescueShiftOut, **ERRORS})
def shift_create(request: Any, unit_id: int, payload: RescueShiftIn) -> Any:
    user = request_user(request)
    require(user, "rescue.change_rescueunit")
    unit = selectors.unit_get(user, unit_id)
    crew, unknown = _shift_crew(unit, payload.crew_ids)
    shift = services.shift_save(actor=user, unit=unit, days=payload.days, weekdays=payload.weekdays,
                                starts=payload.starts, ends=payload.ends, crew=crew, crew_field="crew_ids",
                                crew_unknown=unknown)
    return Status(201, _shift_out(user, shift.pk))


@router.put("/shifts/{shift_id}", response={200: RescueShiftOut, **ERRORS})
def shift_update(request: Any, shift_id: int, payload: RescueShiftIn) -> Any:
    user = request_user(request)
    require(user, "rescue.change_rescueunit")
    shift = selectors.shift_get(user, shift_id)
    crew, unknown = _shift_crew(shift.unit, payload.crew_ids)
    services.shift_save(actor=user, unit=shift.unit, shift=shift, days=payload.days, weekdays=payload.weekdays,
                        starts=payload.starts, ends=payload.ends, crew=crew, crew_field="crew_ids", crew_unknown=unknown)
    return _shift_out(user, shift_id)


@router.delete("/shifts/{shift_id}", response={204: None, **ERRORS})
def shift_delete(request: Any, shift_id: int) -> Any:
    user = request_user(request)
    require(user, "rescue.change_rescueunit")
    services.shift_delete(actor=user, shift=selectors.shift_get(user, shift_id))
    return Status(204, None)


@router.get("/figures", response={200: dict, **ERRORS})
def figures(request: Any, start: dt.date, end: dt.date, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "rescue.view_rescuecase")
    if end < start or (end - start).days > 366:
        raise ValidationFailed("date_range", _("Pick a period of at most a year, end after start."), "end")
    return selectors.rescue_figures(user, default_store(user, store_id), start, end)
