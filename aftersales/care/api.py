"""The care API (/api/care): the care calendar's reminders and actions, first-service coverage, playbooks and
campaigns with their results."""

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.pagination import paginate

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.errors import ValidationFailed
from aftersales.common.pagination import PageNumberPagination
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store

from . import selectors, services

router = Router(tags=["care"])


class ReminderOut(Schema):
    id: int
    store_id: int
    customer_id: int
    customer_name: str
    vehicle_id: int | None
    plate: str
    kind: str
    due_date: dt.date
    lead_days: int
    remind_on: dt.date
    due_km: int | None
    detail: str
    status: str
    message_id: int | None
    message_status: str
    action_at: dt.datetime | None

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_plate(obj: Any) -> str:
        return obj.vehicle.plate if obj.vehicle_id else ""

    @staticmethod
    def resolve_message_status(obj: Any) -> str:
        return obj.message.status if obj.message_id else ""


class ActionIn(Schema):
    action: str
    note: str = ""


class CoverageOut(Schema):
    store_id: int
    start: dt.date
    end: dt.date
    due: int
    reached: int
    rate: float | None


class GroupResultOut(Schema):
    enrolled: int
    contacted: int
    booked: int
    visited: int
    revenue: str
    visit_rate: float | None
    booked_rate: float | None


class ResultsOut(Schema):
    treated: GroupResultOut
    holdout: GroupResultOut
    uplift: float | None
    win_back_rate: float | None


class StepOut(Schema):
    seq: int
    kind: str
    message_kind: str
    channel: str
    text: str
    wait_days: int
    call_target: str


class PlaybookOut(Schema):
    id: int
    store_id: int
    code: str
    name: str
    is_campaign: bool
    is_active: bool
    trigger: str
    tier: str
    date_event: str
    offset_days: int
    inactivity_days: int | None
    segment_id: int | None
    starts_at: dt.datetime | None
    holdout_percent: int
    stop_on_booked: bool
    stop_on_visited: bool
    stop_on_opt_out: bool
    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return list(obj.steps.order_by("seq"))


class PlaybookDetailOut(PlaybookOut):
    results: ResultsOut

    @staticmethod
    def resolve_results(obj: Any) -> dict[str, Any]:
        r = services.playbook_results(obj)
        for group in ("treated", "holdout"):
            r[group] = {**r[group], "revenue": str(r[group]["revenue"])}
        return r


def _range(start: dt.date | None, end: dt.date | None, store: Any) -> tuple[dt.date, dt.date]:
    today = timezone.localtime(timezone.now(), store.zone).date()
    start = start or today
    end = end or start + dt.timedelta(days=6)
    if end < start:
        raise ValidationFailed("end_before_start", _("The end is before the start."), "end")
    if (end - start).days > 92:
        raise ValidationFailed("range_too_long", _("Ask for at most 92 days."), "end")
    return start, end


@router.get("/reminders", response={200: list[ReminderOut], **ERRORS})
@paginate(PageNumberPagination, page_size=100)
def list_reminders(request: Any, store_id: int | None = None, start: dt.date | None = None, end: dt.date | None = None,
                   kind: str = "") -> Any:
    """Reminders of a store due between ``start`` and ``end`` (default: this week), as on the care calendar."""
    user = request_user(request)
    require(user, "care.view_reminder")
    store = default_store(user, store_id)
    start, end = _range(start, end, store)
    return selectors.reminders_for(user, store=store, start=start, end=end, kind=kind)


@router.post("/reminders/{reminder_id}/action", response={200: ReminderOut, **ERRORS})
def record_action(request: Any, reminder_id: int, payload: ActionIn) -> Any:
    """Record what was done about a reminder: ``called``, ``booked`` or ``dismissed``."""
    user = request_user(request)
    require(user, "care.change_reminder")
    reminder = selectors.reminder_get(user, reminder_id)
    services.reminder_record_action(actor=user, reminder=reminder, action=payload.action, note=payload.note)
    return selectors.reminder_get(user, reminder_id)


@router.get("/coverage", response={200: CoverageOut, **ERRORS})
def coverage(request: Any, store_id: int | None = None, start: dt.date | None = None, end: dt.date | None = None) -> Any:
    """Share of vehicles whose first service fell due between ``start`` and ``end`` that got a reminder (target 100%)."""
    user = request_user(request)
    require(user, "care.view_reminder")
    store = default_store(user, store_id)
    today = timezone.localtime(timezone.now(), store.zone).date()
    start, end = _range(start or today - dt.timedelta(days=30), end or today, store)
    return {"store_id": store.pk, **selectors.first_service_coverage(user, store=store, start=start, end=end)}


@router.get("/playbooks", response={200: list[PlaybookOut], **ERRORS})
def list_playbooks(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "care.view_playbook")
    store = default_store(user, store_id)
    return list(selectors.playbooks_for(user, store=store))


@router.get("/playbooks/{playbook_id}", response={200: PlaybookDetailOut, **ERRORS})
def get_playbook(request: Any, playbook_id: int) -> Any:
    """A playbook or campaign with its results: contacted, booked, visited, revenue, hold-out and uplift."""
    user = request_user(request)
    require(user, "care.view_playbook")
    return selectors.playbook_get(user, playbook_id)


@router.post("/playbooks/{playbook_id}/activate", response={200: PlaybookOut, **ERRORS})
def activate(request: Any, playbook_id: int) -> Any:
    user = request_user(request)
    require(user, "care.change_playbook")
    return services.playbook_activate(actor=user, playbook=selectors.playbook_get(user, playbook_id))


@router.post("/playbooks/{playbook_id}/deactivate", response={200: PlaybookOut, **ERRORS})
def deactivate(request: Any, playbook_id: int) -> Any:
    user = request_user(request)
    require(user, "care.change_playbook")
    return services.playbook_deactivate(actor=user, playbook=selectors.playbook_get(user, playbook_id))
