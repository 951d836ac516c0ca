"""People API (SPEC §20): certificates (list the store's, record one with its scan, withdraw one) and the caller's
own certificates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from aftersales.common.api_schemas import ERRORS, request_user
from aftersales.common.permissions import require
from aftersales.common.scoping import default_store
from aftersales.staff.selectors import staff_get

from . import selectors, services

router = Router(tags=["people"])


class CertificationOut(Schema):
    id: int
    holder_id: int
    holder: str
    kind: str
    issuer: str
    level: str
    number: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    days_left: int | None
    has_scan: bool


def _out(row: selectors.CertificateRow) -> dict[str, Any]:
    c = row.certification
    return {
        "id": c.pk, "holder_id": c.user_id, "holder": str(c.user), "kind": c.kind, "issuer": c.issuer, "level": c.level,
        "number": c.number, "valid_from": c.valid_from, "valid_until": c.valid_until, "status": row.status,
        "days_left": row.days_left, "has_scan": bool(c.scan),
    }


@router.get("/certifications", response={200: list[CertificationOut], **ERRORS})
def list_certifications(request: Any, store_id: int | None = None) -> Any:
    """The certificates of the staff of a store (default: the caller's), with their status today."""
    user = request_user(request)
    require(user, "staff.view_certification")
    store = default_store(user, store_id)
    return [_out(r) for r in selectors.certificate_rows(user, store)]


class CertificationIn(Schema):
    holder_id: int
    kind: str
    issuer: str
    number: str
    valid_from: str
    valid_until: str
    level: str = ""


@router.post("/certifications", response={201: CertificationOut, **ERRORS})
def record_certification(request: Any, payload: Form[CertificationIn], scan: File[UploadedFile] | None = None) -> Any:
    """Record a certificate (multipart form; ``scan`` an optional photo or scan of it)."""
    user = request_user(request)
    require(user, "staff.add_certification")
    holder = staff_get(user, payload.holder_id)
    scan = scan or request.FILES.get("scan")  # ninja leaves an optional file beside a form schema unset
    cert = services.certification_record(
        actor=user, holder=holder, kind=payload.kind, issuer=payload.issuer, number=payload.number,
        valid_from=payload.valid_from, valid_until=payload.valid_until, level=payload.level,
        scan=scan.read() if scan is not None else None,
    )
    return Status(201, _out(selectors.certificate_row(cert, selectors.local_today(default_store(user)))))


class WithdrawIn(Schema):
    reason: str


@router.post("/certifications/{certification_id}/withdraw", response={200: CertificationOut, **ERRORS})
def withdraw_certification(request: Any, certification_id: int, payload: WithdrawIn) -> Any:
    user = request_user(request)
    require(user, "staff.change_certification")
    cert = selectors.certification_get(user, certification_id)
    cert = services.certification_withdraw(actor=user, certification=cert, reason=payload.reason)
    return _out(selectors.certificate_row(cert, selectors.local_today(default_store(user))))


class CertificationChangeIn(Schema):
    issuer: str | None = None
    number: str | None = None
    level: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    reason: str = ""


@router.post("/certifications/{certification_id}", response={200: CertificationOut, **ERRORS})
def change_certification(
    request: Any, certification_id: int, payload: Form[CertificationChangeIn], scan: File[UploadedFile] | None = None
) -> Any:
    """Correct or renew a certificate (multipart form; only the fields sent change; ``scan`` replaces the scan)."""
    user = request_user(request)
    require(user, "staff.change_certification")
    cert = selectors.certification_get(user, certification_id)
    scan = scan or request.FILES.get("scan")
    cert = services.certification_update(
        actor=user, certification=cert, issuer=payload.issuer, number=payload.number, level=payload.level,
        valid_from=payload.valid_from, valid_until=payload.valid_until, reason=payload.reason,
        scan=scan.read() if scan is not None else None,
    )
    return _out(selectors.certificate_row(cert, selectors.local_today(default_store(user))))


@router.get("/me/certifications", response={200: list[CertificationOut], **ERRORS})
def my_certifications(request: Any) -> Any:
    """The caller's own certificates."""
    user = request_user(request)
    return [_out(r) for r in selectors.my_certificate_rows(user)]


# ---- the store's people settings, training assignments ---------------------------------------------------------------
class SettingsOut(Schema):
    store_id: int
    complaint_rate_threshold: Decimal
    referral_reward: Decimal
    general_manager_id: int | None
    gm_reception_target: int


class SettingsIn(Schema):
    complaint_rate_threshold: str
    referral_reward: str
    gm_reception_target: str
    general_manager_id: int | None = None


def _settings_out(row: Any) -> dict[str, Any]:
    return {"store_id": row.store_id, "complaint_rate_threshold": row.complaint_rate_threshold,
            "referral_reward": row.referral_reward, "general_manager_id": row.general_manager_id,
            "gm_reception_target": row.gm_reception_target}


@router.get("/settings", response={200: SettingsOut, **ERRORS})
def get_settings(request: Any, store_id: int | None = None) -> Any:
    """A store's complaint-rate threshold, referral reward, general manager and reception target."""
    from .incentives import settings_for

    user = request_user(request)
    require(user, "people.view_peoplesettings")
    return _settings_out(settings_for(default_store(user, store_id)))


@router.put("/settings", response={200: SettingsOut, **ERRORS})
def put_settings(request: Any, payload: SettingsIn, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "people.change_peoplesettings")
    store = default_store(user, store_id)
    gm = staff_get(user, payload.general_manager_id) if payload.general_manager_id else None
    row = services.people_settings_update(
        actor=user, store=store, complaint_rate_threshold=payload.complaint_rate_threshold,
        referral_reward=payload.referral_reward, gm_reception_target=payload.gm_reception_target, general_manager=gm,
    )
    return _settings_out(row)


class FlagOut(Schema):
    person_id: int
    person: str
    complaints: int
    visits: int
    rate: Decimal
    threshold: Decimal
    assignment_id: int | None


@router.get("/complaint-flags", response={200: list[FlagOut], **ERRORS})
def complaint_flags(request: Any, store_id: int | None = None, day: dt.date | None = None) -> Any:
    """Advisors above the store's complaint-rate threshold this quarter, with the training assigned (if any)."""
    from .incentives import incentives_for

    user = request_user(request)
    require(user, "analytics.view_dashboard")
    store = default_store(user, store_id)
    data = incentives_for(user=user, store_id=store.pk, day=day)
    return [{"person_id": f.user.pk, "person": str(f.user), "complaints": f.complaints, "visits": f.visits,
             "rate": f.rate, "threshold": data.settings.complaint_rate_threshold,
             "assignment_id": f.assignment.pk if f.assignment else None} for f in data.flags]


class AssignmentIn(Schema):
    person_id: int
    topic: str
    reason: str = ""
    due_on: str = ""


class AssignmentOut(Schema):
    id: int
    person_id: int
    topic: str
    source: str
    reason: str
    due_on: dt.date | None
    done: bool
    session_id: int | None


def _assignment_out(a: Any) -> dict[str, Any]:
    return {"id": a.pk, "person_id": a.person_id, "topic": a.topic, "source": a.source, "reason": a.reason,
            "due_on": a.due_on, "done": a.done_at is not None, "session_id": a.session_id}


@router.get("/training-assignments", response={200: list[AssignmentOut], **ERRORS})
def list_assignments(request: Any, store_id: int | None = None) -> Any:
    user = request_user(request)
    require(user, "people.view_trainingassignment")
    return [_assignment_out(a) for a in selectors.assignments_for(user, default_store(user, store_id))]


@router.post("/training-assignments", response={201: AssignmentOut, **ERRORS})
def assign_training(request: Any, payload: AssignmentIn, store_id: int | None = None) -> Any:
    """Send a member of staff to training on a topic (done when they attend a session on it)."""
    user = request_user(request)
    require(user, "people.add_trainingassignment")
    store = default_store(user, store_id)
    person = staff_get(user, payload.person_id)
    a = services.training_assign(actor=user, store=store, person=person, topic=payload.topic, reason=payload.reason,
                                 due_on=payload.due_on)
    return Status(201, _assignment_out(a))


# ---- referral rewards --------------------------------------------------------------------------------------------------
class RewardRowOut(Schema):
    staff_id: int
    staff: str
    qualified: int
    unpaid: int
    due: Decimal
    paid: Decimal


@router.get("/referral-rewards", response={200: list[RewardRowOut], **ERRORS})
def referral_rewards(request: Any, store_id: int | None = None, day: dt.date | None = None) -> Any:
    """Per member of staff: referrals qualified this quarter, not yet paid, due at the store's amount, paid."""
    from .incentives import incentives_for

    user = request_user(request)
    require(user, "people.view_referralreward")
    store = default_store(user, store_id)
    data = incentives_for(user=user, store_id=store.pk, day=day)
    return [{"staff_id": w.user.pk, "staff": str(w.user), "qualified": w.qualified, "unpaid": w.unpaid, "due": w.due,
             "paid": w.paid} for w in data.rewards]


class PayIn(Schema):
    staff_id: int
    note: str = ""


class PaidOut(Schema):
    staff_id: int
    referrals: int
    amount: Decimal


@router.post("/referral-rewards/pay", response={201: PaidOut, **ERRORS})
def pay_referral_rewards(request: Any, payload: PayIn, store_id: int | None = None) -> Any:
    """Record the payout of a member of staff's unpaid referral rewards at the store's amount."""
    user = request_user(request)
    require(user, "people.add_referralreward")
    store = default_store(user, store_id)
    staff = staff_get(user, payload.staff_id)
    rewards = services.referral_rewards_pay(actor=user, store=store, staff=staff, note=payload.note)
    return Status(201, {"staff_id": staff.pk, "referrals": len(rewards), "amount": sum(r.amount for r in rewards)})


# ---- the general manager's receptions ----------------------------------------------------------------------------------
class ReceptionOut(Schema):
    id: int
    customer_id: int
    handover_id: int | None
    order_id: int | None
    received_by_id: int
    received_at: dt.datetime
    note: str


class ReceptionMonthOut(Schema):
    store_id: int
    month: str
    general_manager_id: int | None
    target: int
    count: int
    met: bool
    receptions: list[ReceptionOut]


def _reception_out(r: Any) -> dict[str, Any]:
    return {"id": r.pk, "customer_id": r.customer_id, "handover_id": r.handover_id, "order_id": r.order_id,
            "received_by_id": r.received_by_id, "received_at": r.received_at, "note": r.note}


@router.get("/receptions", response={200: ReceptionMonthOut, **ERRORS})
def list_receptions(request: Any, store_id: int | None = None, month: str = "") -> Any:
    """The general manager's receptions of a month (``YYYY-MM``, default this month) against the target."""
    from .incentives import settings_for

    user = request_user(request)
    store = default_store(user, store_id)
    if settings_for(store).general_manager_id != user.pk:
        require(user, "people.view_gmreception")
    today = selectors.local_today(store)
    try:
        year, mon = (int(x) for x in month.split("-")) if month else (today.year, today.month)
        dt.date(year, mon, 1)
    except ValueError as exc:
        from aftersales.common.errors import ValidationFailed

        raise ValidationFailed("month_format", _("Enter a month such as 2026-11."), "month") from exc
    m = selectors.gm_receptions(user, store, year, mon)
    return {"store_id": store.pk, "month": f"{year}-{mon:02d}", "general_manager_id": getattr(m.general_manager, "pk", None),
            "target": m.target, "count": m.count, "met": m.met, "receptions": [_reception_out(r) for r in m.rows]}


class ReceptionIn(Schema):
    handover_id: int | None = None
    order_id: int | None = None
    note: str = ""


@router.post("/receptions", response={201: ReceptionOut, **ERRORS})
def log_reception(request: Any, payload: ReceptionIn) -> Any:
    """Log that the general manager received a customer in person: the visit is a handover sheet or a repair order."""
    from aftersales.common.errors import ValidationFailed

    user = request_user(request)
    handover = selectors.handover_get(user, payload.handover_id) if payload.handover_id else None
    order = selectors.order_get(user, payload.order_id) if payload.order_id and handover is None else None
    visit = handover or order
    if visit is None:
        raise ValidationFailed("required", _("Choose the customer's visit."), "handover_id")
    store = default_store(user, visit.store_id)
    r = services.gm_reception_record(actor=user, store=store, handover=handover, order=order, note=payload.note)
    return Status(201, _reception_out(r))


# ---- the monthly customer-service meeting --------------------------------------------------------------------------
class AgendaItemOut(Schema):
    kind: str
    at: dt.datetime
    text: str
    owner_id: int | None
    status: str
    open: bool
    case_id: int | None
    order_id: int | None


class MeetingActionOut(Schema):
    action_id: int
    title: str
    category: str
    owner_id: int | None
    start_date: dt.date
    due_on: dt.date | None
    done: bool
    overdue: bool
    effect: str
    cases_per_30_days_before: float
    cases_per_30_days_after: float


class MeetingOut(Schema):
    store_id: int
    month: str
    meeting_id: int | None
    held_on: dt.date | None
    attendee_ids: list[int]
    case_ids: list[int]
    minutes: str
    agenda: list[AgendaItemOut]
    actions: list[MeetingActionOut]


def _meeting_out(user: Any, store: Any, year: int, month: int) -> dict[str, Any]:
    m = selectors.meeting_for_month(user, store, year, month)
    return {
        "store_id": store.pk, "month": f"{year}-{month:02d}", "meeting_id": m.pk if m else None,
        "held_on": m.held_on if m else None, "attendee_ids": sorted(u.pk for u in m.attendees.all()) if m else [],
        "case_ids": sorted(c.pk for c in m.cases.all()) if m else [], "minutes": m.minutes if m else "",
        "agenda": [{"kind": i.kind, "at": i.at, "text": i.text, "owner_id": getattr(i.owner, "pk", None),
                    "status": i.status, "open": i.open, "case_id": getattr(i.case, "pk", None),
                    "order_id": getattr(i.order, "pk", None)} for i in selectors.meeting_agenda(user, store, year, month)],
        "actions": [{"action_id": r.action.pk, "title": r.action.title, "category": r.action.category,
                     "owner_id": r.action.owner_id, "start_date": r.action.start_date, "due_on": r.due_on,
                     "done": r.done_at is not None, "overdue": r.overdue, "effect": r.effect,
                     "cases_per_30_days_before": r.figures["before"]["per_30_days"],
                     "cases_per_30_days_after": r.figures["after"]["per_30_days"]} for r in selectors.meeting_actions(store)],
    }


def _year_month(value: str, store: Any) -> tuple[int, int]:
    from aftersales.common.errors import ValidationFailed

    today = selectors.local_today(store)
    try:
        year, mon = (int(x) for x in value.split("-")) if value else (today.year, today.month)
        dt.date(year, mon, 1)
    except ValueError as exc:
        raise ValidationFailed("month_format", _("Enter a month such as 2026-11."), "month") from exc
    return year, mon


@router.get("/meetings/{month}", response={200: MeetingOut, **ERRORS})
def get_meeting(request: Any, month: str, store_id: int | None = None) -> Any:
    """A month's customer-service meeting: the agenda (complaints, recoveries, low ratings with owner and status),
    the meeting (date, attendees, cases, minutes) and the improvement actions (the feedback report's list)."""
    user = request_user(request)
    require(user, "people.view_servicemeeting")
    store = default_store(user, store_id)
    return _meeting_out(user, store, *_year_month(month, store))


class MeetingIn(Schema):
    held_on: str
    attendee_ids: list[int]
    minutes: str = ""
    case_ids: list[int] = []


@router.post("/meetings/{month}", response={201: MeetingOut, **ERRORS})
def record_meeting(request: Any, month: str, payload: MeetingIn, store_id: int | None = None) -> Any:
    from aftersales.common.scoping import restrict_to_stores
    from aftersales.feedback.models import FeedbackCase

    user = request_user(request)
    require(user, "people.add_servicemeeting")
    store = default_store(user, store_id)
    year, mon = _year_month(month, store)
    attendees = [staff_get(user, i) for i in dict.fromkeys(payload.attendee_ids)]
    cases = list(restrict_to_stores(FeedbackCase.objects.filter(pk__in=payload.case_ids), user))
    if len(cases) != len(set(payload.case_ids)):
        from aftersales.common.errors import NotFound

        raise NotFound("case_not_found", _("No such case."), "case_ids")
    services.meeting_record(actor=user, store=store, held_on=payload.held_on, month=f"{year}-{mon:02d}",
                            attendees=attendees, minutes=payload.minutes, cases=cases)
    return Status(201, _meeting_out(user, store, year, mon))


class MeetingActionIn(Schema):
    title: str
    category: str
    owner_id: int
    due_on: str


@router.post("/meetings/{month}/actions", response={201: MeetingActionOut, **ERRORS})
def add_meeting_action(request: Any, month: str, payload: MeetingActionIn, store_id: int | None = None) -> Any:
    """An improvement action decided at the meeting (added to the feedback report's actions), with owner and due date."""
    from aftersales.common.errors import NotFound

    user = request_user(request)
    require(user, "people.change_servicemeeting")
    store = default_store(user, store_id)
    meeting = selectors.meeting_for_month(user, store, *_year_month(month, store))
    if meeting is None:
        raise NotFound("meeting_not_found", _("Record the month's meeting first."), "month")
    owner = staff_get(user, payload.owner_id)
    row = services.meeting_action_add(actor=user, meeting=meeting, category=payload.category, title=payload.title,
                                      owner=owner, due_on=payload.due_on)
    return Status(201, _action_out(row.action, store))


def _action_out(action: Any, store: Any) -> dict[str, Any]:
    row = next(r for r in selectors.meeting_actions(store) if r.action.pk == action.pk)
    return {"action_id": action.pk, "title": action.title, "category": action.category, "owner_id": action.owner_id,
            "start_date": action.start_date, "due_on": row.due_on, "done": row.done_at is not None,
            "overdue": row.overdue, "effect": row.effect,
            "cases_per_30_days_before": row.figures["before"]["per_30_days"],
            "cases_per_30_days_after": row.figures["after"]["per_30_days"]}


class ActionStatusIn(Schema):
    done: bool
    effect: str = ""


@router.post("/improvement-actions/{action_id}/status", response={200: MeetingActionOut, **ERRORS})
def action_status(request: Any, action_id: int, payload: ActionStatusIn) -> Any:
    """Mark an improvement action done (or open again) with the effect seen."""
    user = request_user(request)
    require(user, "people.change_servicemeeting")
    action = selectors.improvement_action_get(user, action_id)
    services.meeting_action_status(actor=user, action=action, done=payload.done, effect=payload.effect)
    return _action_out(action, action.store)
