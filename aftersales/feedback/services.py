"""Writes of the follow-up and feedback loop (SPEC §9): follow-ups after delivery, survey answers, recovery on a
low score, complaints and suggestions with SLA timers on the store's business calendar, routing, corrections of
the automatic category, improvement actions. Every function: keyword-only, one transaction, an audit row."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings as django_settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit, events
from aftersales.common.errors import Conflict, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded, coded_label, is_coded, names_pair, render
from aftersales.common.transitions import move

from . import business_time, classifier
from .choices import (
    CASE_TRANSITIONS,
    FOLLOWUP_TRANSITIONS,
    OPEN_CASE_STATES,
    OPTIONAL_QUESTIONS,
    QUESTIONS,
    CaseChannel,
    CaseKind,
    CaseStatus,
    Category,
    EventKind,
    FollowUpMethod,
    FollowUpStatus,
    Reaction,
    TimerKind,
    TimerUnit,
)
from .models import (
    CaseEvent,
    CasePhoto,
    FeedbackCase,
    FeedbackSettings,
    FollowUp,
    FollowUpEvent,
    ImprovementAction,
    LabelCorrection,
    RoutingRule,
    SlaTimer,
)

log = logging.getLogger(__name__)

SURVEY_SALT = "feedback.survey"
#: the sweep creates follow-ups only for orders delivered this recently (old history never gets a call)
SWEEP_LOOKBACK = dt.timedelta(days=14)
MAX_TEXT = 4000
MAX_PHOTOS = 5
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


# ---- settings, people ---------------------------------------------------------------------------------------
def settings_for(store: Any) -> FeedbackSettings:
    row, _created = FeedbackSettings.objects.get_or_create(store=store)
    return row


def store_managers(store: Any) -> list[Any]:
    from aftersales.staff.models import User
    from aftersales.staff.roles import Role

    return list(
        User.objects.filter(is_active=True, memberships__store=store, groups__name=Role.STORE_MANAGER).distinct().order_by("id")
    )


def route_owner(store: Any, category: str) -> Any:
    """The owner of a category's cases at a store: the routing table's entry, else the store's manager."""
    rule = RoutingRule.objects.select_related("owner").filter(store=store, category=category, owner__is_active=True).first()
    if rule is not None:
        return rule.owner
    managers = store_managers(store)
    return managers[0] if managers else None


def _notify_staff(*, store: Any, user: Any, title: str, details: str, dedup_key: str, sms: bool = False) -> None:
    """In-app notification (and optionally an SMS) to a staff member, through the outbox."""
    from aftersales.messaging.choices import Channel
    from aftersales.messaging.services import message_enqueue

    if user is None:
        return
    with override(getattr(user, "language", "") or "zh-hans"):
        variables = {"title": str(title), "details": str(details)}
    message_enqueue(kind="staff.task", store=store, staff_user=user, channel=Channel.APP, variables=variables, dedup_key=dedup_key)
    phone = str(getattr(user, "phone", None) or "")
    if sms and phone:
        message_enqueue(kind="staff.task", store=store, staff_user=user, channel=Channel.SMS, variables=variables,
                        dedup_key=f"{dedup_key}:sms")


# ---- follow-ups ---------------------------------------------------------------------------------------------
def _attempt_times(followup: FollowUp, cfg: FeedbackSettings) -> list[dt.datetime]:
    return [followup.delivered_at + dt.timedelta(days=d) for d in cfg.retry_day_list()]


def followup_create_for_order(*, order: Any, actor: Any = None) -> FollowUp:
    """The follow-up of a delivered repair order: due 24 h after delivery, overdue after 72 h. Idempotent."""
    from aftersales.workshop.choices import OrderStatus

    existing = FollowUp.objects.filter(order_id=order.pk).first()
    if existing is not None:
        return existing
    if order.delivered_at is None or order.status not in (OrderStatus.DELIVERED, getattr(OrderStatus, "CLOSED", "closed")):
        raise ValidationFailed("order_not_delivered", _("The repair order has not been delivered yet."), "order")
    cfg = settings_for(order.store)
    customer = order.customer
    method = FollowUpMethod.CALL if customer.preferred_channel == "phone" else FollowUpMethod.SURVEY
    delivered = order.delivered_at
    try:
        with transaction.atomic():
            followup = FollowUp(
                store_id=order.store_id, order=order, customer=customer, vehicle_id=order.vehicle_id, advisor_id=order.advisor_id,
                method=method, delivered_at=delivered, due_at=delivered + dt.timedelta(hours=cfg.followup_due_hours),
                overdue_at=delivered + dt.timedelta(hours=cfg.followup_overdue_hours),
            )
            attempts = _attempt_times(followup, cfg)
            followup.next_attempt_at = attempts[0]
            if method == FollowUpMethod.SURVEY:
                followup.expires_at = attempts[-1] + dt.timedelta(hours=cfg.survey_valid_hours)
            followup.save()
            FollowUpEvent.objects.create(followup=followup, from_state="", to_state=FollowUpStatus.OPEN, actor=None,
                                         reason=coded_label(FollowUpMethod(followup.method).label), at=timezone.now())
            audit.record(actor=actor, obj=followup, action="followup.created", store_id=order.store_id, customer_id=customer.pk,
                         changes={"due_at": [None, followup.due_at.isoformat()]})
    except IntegrityError:
        return FollowUp.objects.get(order_id=order.pk)
    return followup


def survey_token(followup: FollowUp) -> str:
    return signing.dumps({"f": followup.pk}, salt=SURVEY_SALT, compress=True)


def survey_link(followup: FollowUp) -> str:
    return f"{django_settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/s/{survey_token(followup)}/"


def followup_from_token(token: str) -> FollowUp | None:
    """The follow-up a survey link names; None for a tampered or malformed token."""
    try:
        data = signing.loads(token, salt=SURVEY_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("f"), int):
        return None
    return FollowUp.objects.select_related("store", "customer", "vehicle", "order", "advisor").filter(pk=data["f"]).first()


def _send_survey(followup: FollowUp, attempt: int) -> None:
    from aftersales.messaging.services import customer_variables, message_enqueue

    store = followup.store
    message_enqueue(
        kind="followup.survey", store=store, customer=followup.customer, dedup_key=f"followup:{followup.pk}:survey:{attempt}",
        variables={
            **customer_variables(customer=followup.customer, store=store), "plate": followup.vehicle.plate,
            "model": followup.vehicle.model, "date": timezone.localtime(followup.delivered_at, store.zone).date().isoformat(),
            "time": timezone.localtime(followup.delivered_at, store.zone).strftime("%H:%M"),
            "advisor_name": str(followup.advisor or ""), "link": survey_link(followup),
        },
    )


def _followup_move(followup: FollowUp, to: str, actor: Any, reason: str = "", at: dt.datetime | None = None) -> None:
    move(followup, to=to, actor=actor, transitions=FOLLOWUP_TRANSITIONS, event_model=FollowUpEvent, event_fk="followup",
         reason=reason[:300], labels=FollowUpStatus, at=at)


def followup_record_attempt(*, actor: Any, followup: FollowUp, note: str = "", now: dt.datetime | None = None) -> FollowUp:
    """A call that did not reach the customer: the next attempt is scheduled (e.g. day 3, day 7); after the last
    one the follow-up closes as unreached."""
    require(actor, "feedback.change_followup")
    require_store(actor, followup.store_id)
    now = now or timezone.now()
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=followup.pk)
        if locked.status != FollowUpStatus.OPEN:
            raise Conflict("followup_closed", _("This follow-up is already closed."), "status")
        cfg = settings_for(locked.store)
        times = _attempt_times(locked, cfg)
        locked.attempts += 1
        locked.note = (note or "")[:300]
        if locked.attempts >= len(times):
            locked.next_attempt_at = None
            locked.save(update_fields=["attempts", "note", "next_attempt_at"])
            _followup_move(locked, FollowUpStatus.UNREACHED, actor, coded(gettext_noop("Not reached after %(n)s attempts"), n=locked.attempts), now)
        else:
            locked.next_attempt_at = max(times[locked.attempts], now)
            locked.save(update_fields=["attempts", "note", "next_attempt_at"])
            FollowUpEvent.objects.create(followup=locked, from_state=locked.status, to_state=locked.status, actor=actor,
                                         reason=(coded(gettext_noop("Attempt %(n)s: not reached · %(note)s"), n=locked.attempts, note=note[:200]) if note
                                                 else coded(gettext_noop("Attempt %(n)s: not reached"), n=locked.attempts)), at=now)
        audit.record(actor=actor, obj=locked, action="followup.attempt", store_id=locked.store_id, customer_id=locked.customer_id,
                     changes={"attempts": [locked.attempts - 1, locked.attempts]}, at=now)
    return locked


def _parse_scores(scores: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, _label, _category in QUESTIONS:
        raw = scores.get(code)
        if (raw is None or raw == "") and code in OPTIONAL_QUESTIONS:
            continue
        if raw is None or raw == "":
            raise ValidationFailed("score_required", _("Give a score from 0 to 10."), code)
        try:
            value = int(str(raw))
        except ValueError as exc:
            raise ValidationFailed("score_invalid", _("A score is a whole number from 0 to 10."), code) from exc
        if not 0 <= value <= 10:
            raise ValidationFailed("score_invalid", _("A score is a whole number from 0 to 10."), code)
        out[code] = value
    return out


def followup_answer(
    *, followup: FollowUp, scores: dict[str, Any], suggestions: str = "", actor: Any = None, now: dt.datetime | None = None,
) -> FollowUp:
    """Record the answers (call-centre agent as ``actor``, or the customer through the survey link with no actor).

    One answer per order: a second answer is refused. Any score below 8 opens a recovery case for the order's
    advisor (due within 1 business hour); written suggestions become a suggestion case.
    """
    now = now or timezone.now()
    if actor is not None:
        require(actor, "feedback.change_followup")
        require_store(actor, followup.store_id)
    values = _parse_scores(scores)
    suggestions = (suggestions or "").strip()
    if len(suggestions) > MAX_TEXT:
        raise ValidationFailed("text_too_long", _("At most %(n)s characters.") % {"n": MAX_TEXT}, "suggestions")
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update(of=("self",)).select_related("store", "customer", "order", "vehicle").get(pk=followup.pk)
        if locked.status == FollowUpStatus.ANSWERED:
            raise Conflict("already_answered", _("This follow-up has already been answered. Thank you!"), None)
        if locked.status != FollowUpStatus.OPEN:
            raise Conflict("followup_closed", _("This follow-up is already closed."), None)
        if actor is None and locked.expires_at is not None and now > locked.expires_at:
            raise Conflict("survey_expired", _("This survey link has expired."), None)
        for code, value in values.items():
            setattr(locked, f"score_{code}", value)
        locked.suggestions = suggestions
        locked.answered_at = now
        locked.answered_by = actor if getattr(actor, "pk", None) else None
        locked.next_attempt_at = None
        locked.save()
        _followup_move(locked, FollowUpStatus.ANSWERED, actor, coded(gettext_noop("Answered by phone")) if actor else coded(gettext_noop("Answered through the survey link")), now)
        audit.record(actor=actor, obj=locked, action="followup.answered", store_id=locked.store_id, customer_id=locked.customer_id,
                     changes={k: [None, v] for k, v in values.items()}, at=now)
        low = {code: v for code, v in values.items() if v < 8}
        if low:
            category = next((cat for code, _l, cat in QUESTIONS if code in low and code not in ("recommend", "overall")), Category.OTHER)
            _case_create(
                store=locked.store, kind=CaseKind.RECOVERY, channel=CaseChannel.FOLLOWUP, text=_low_scores_text(low, suggestions), coded_text=True,
                customer=locked.customer, vehicle=locked.vehicle, order=locked.order, followup=locked, actor=actor,
                category=category, owner=locked.order.advisor if locked.order.advisor_id else None, at=now,
            )
        if suggestions:
            _case_create(
                store=locked.store, kind=CaseKind.SUGGESTION, channel=CaseChannel.FOLLOWUP, text=suggestions,
                customer=locked.customer, vehicle=locked.vehicle, order=locked.order, followup=locked, actor=actor, at=now,
            )
        events.publish(events.FollowUpAnswered(followup_id=locked.pk, order_id=locked.order_id, store_id=locked.store_id))
    return locked


def _low_scores_text(low: dict[str, int], suggestions: str) -> str:
    """A recovery case's text, coded so that each reader reads the questions in their own language (issue 16):
    "Overall, how satisfied are you with this visit? 5/10; …", then what the customer wrote, as written."""
    labels = {code: label for code, label, _c in QUESTIONS}
    answers = [coded(gettext_noop("%(question)s %(score)s/10"), question=coded_label(labels[c]), score=v) for c, v in low.items()]
    summary = answers[-1]
    for answer in reversed(answers[:-1]):
        summary = coded(gettext_noop("%(first)s; %(rest)s"), first=answer, rest=summary)
    if not suggestions:
        return summary
    return coded(gettext_noop("%(answers)s\n%(suggestions)s"), answers=summary, suggestions=names_pair(suggestions, suggestions))


def followup_sweep(*, now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Periodic and idempotent: follow-ups for recently delivered orders that have none, survey links and their
    reminders on the retry days, and unreached follow-ups closed after the last attempt."""
    from aftersales.workshop.models import RepairOrder

    now = now or timezone.now()
    counts = {"created": 0, "surveys": 0, "unreached": 0}
    missing = (
        RepairOrder.objects.filter(delivered_at__isnull=False, delivered_at__gte=now - SWEEP_LOOKBACK, followup__isnull=True)
        .exclude(status="cancelled").select_related("store", "customer").order_by("delivered_at")[:batch]
    )
    for order in missing:
        try:
            followup_create_for_order(order=order)
            counts["created"] += 1
        except ValidationFailed:
            continue
    due_ids = list(
        FollowUp.objects.filter(status=FollowUpStatus.OPEN, method=FollowUpMethod.SURVEY, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("id", flat=True)[:batch]
    )
    for pk in due_ids:
        with transaction.atomic():
            locked = FollowUp.objects.select_for_update(of=("self",)).select_related("store", "customer", "vehicle", "advisor").get(pk=pk)
            if locked.status != FollowUpStatus.OPEN or locked.next_attempt_at is None or locked.next_attempt_at > now:
                continue
            times = _attempt_times(locked, settings_for(locked.store))
            _send_survey(locked, locked.attempts + 1)
            locked.attempts += 1
            later = [t for t in times[locked.attempts:] if t > now]
            locked.next_attempt_at = later[0] if later else None
            locked.save(update_fields=["attempts", "next_attempt_at"])
            FollowUpEvent.objects.create(followup=locked, from_state=locked.status, to_state=locked.status, actor=None,
                                         reason=coded(gettext_noop("Survey link sent (attempt %(n)s)"), n=locked.attempts), at=now)
            counts["surveys"] += 1
    # surveys past their link's expiry; calls a day past the last attempt day without an answer
    stale = list(
        FollowUp.objects.filter(status=FollowUpStatus.OPEN, method=FollowUpMethod.SURVEY, expires_at__lte=now).values_list("id", flat=True)[:batch]
    )
    for followup in FollowUp.objects.filter(status=FollowUpStatus.OPEN, method=FollowUpMethod.CALL).select_related("store")[:batch]:
        if now >= _attempt_times(followup, settings_for(followup.store))[-1] + dt.timedelta(days=1):
            stale.append(followup.pk)
    for pk in stale:
        with transaction.atomic():
            locked = FollowUp.objects.select_for_update().get(pk=pk)
            if locked.status != FollowUpStatus.OPEN:
                continue
            locked.next_attempt_at = None
            locked.save(update_fields=["next_attempt_at"])
            _followup_move(locked, FollowUpStatus.UNREACHED, None, coded(gettext_noop("No answer after the last attempt")), now)
            audit.record(actor=None, obj=locked, action="followup.unreached", store_id=locked.store_id, customer_id=locked.customer_id, at=now)
            counts["unreached"] += 1
    return counts


# ---- cases --------------------------------------------------------------------------------------------------
def _timer_plan(kind: str, cfg: FeedbackSettings) -> list[tuple[str, int, str]]:
    if kind == CaseKind.RECOVERY:
        return [(TimerKind.RECOVERY, cfg.recovery_hours, TimerUnit.BUSINESS_HOURS)]
    plan: list[tuple[str, int, str]] = [(TimerKind.ACKNOWLEDGE, cfg.ack_hours, TimerUnit.BUSINESS_HOURS)]
    if kind == CaseKind.COMPLAINT:
        # contact: 24 h of the clock per day (SPEC §9), moved to the next opening when it falls while the store is closed
        plan += [(TimerKind.CONTACT, cfg.contact_days * 24, TimerUnit.CLOCK_HOURS), (TimerKind.RESOLVE, cfg.resolve_days, TimerUnit.BUSINESS_DAYS)]
    else:
        plan.append((TimerKind.ASSESS, cfg.assess_days, TimerUnit.BUSINESS_DAYS))
    return plan


def sla_due(store: Any, start: dt.datetime, amount: int, unit: str, warn_percent: int = 75) -> tuple[dt.datetime, dt.datetime]:
    """(warn_at, due_at) of a timer started at ``start`` on the store's business calendar."""
    if unit == TimerUnit.BUSINESS_HOURS:
        due = business_time.add_business_seconds(store, start, amount * 3600)
    elif unit == TimerUnit.CLOCK_HOURS:
        due = business_time.next_open(store, start + dt.timedelta(hours=amount))
    else:
        due = business_time.add_business_days(store, start, amount)
    span = business_time.business_seconds_between(store, start, due)
    if span > 0:
        warn = business_time.add_business_seconds(store, start, span * warn_percent / 100)
    else:
        warn = start + (due - start) * warn_percent / 100
    return min(warn, due), due


def _event(case: FeedbackCase, kind: str, actor: Any, reason: str, at: dt.datetime | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, from_state=case.status, to_state=case.status,
                                    actor=actor if getattr(actor, "pk", None) else None, reason=reason[:500], at=at or timezone.now())


def _case_create(
    *, store: Any, kind: str, channel: str, text: str, actor: Any = None, customer: Any = None, vehicle: Any = None, order: Any = None,
    followup: Any = None, contact_name: str = "", contact_mobile: str = "", category: str | None = None, owner: Any = None,
    at: dt.datetime | None = None, coded_text: bool = False,
) -> FeedbackCase:
    at = at or timezone.now()
    if not coded_text and is_coded(text):
        text = "\u2060" + text  # what a person typed is never read as one of our codes (an invisible word joiner)
    if order is not None:
        customer, vehicle = customer or order.customer, vehicle or order.vehicle
    if vehicle is not None and customer is None:
        customer = vehicle.owner
    if category is None:
        category, confidence = classifier.classify(render(text))  # a coded text as the reader of the moment reads it
    else:
        confidence = 1.0
    owner = owner or route_owner(store, category)
    case = FeedbackCase.objects.create(
        store=store, kind=kind, channel=channel, customer=customer, vehicle=vehicle, order=order, followup=followup,
        contact_name=contact_name[:60], contact_mobile=contact_mobile[:20], text=text, category=category,
        category_confidence=confidence, owner=owner, created_at=at,
    )
    CaseEvent.objects.create(case=case, kind=EventKind.STATUS, from_state="", to_state=CaseStatus.NEW,
                             actor=actor if getattr(actor, "pk", None) else None, reason=coded_label(CaseChannel(channel).label), at=at)
    cfg = settings_for(store)
    for timer_kind, amount, unit in _timer_plan(kind, cfg):
        warn, due = sla_due(store, at, amount, unit, cfg.warn_percent)
        SlaTimer.objects.create(case=case, kind=timer_kind, amount=amount, unit=unit, started_at=at, warn_at=warn, due_at=due)
    audit.record(actor=actor, obj=case, action=f"feedback_case.created.{kind}", store_id=store.pk,
                 customer_id=customer.pk if customer else None, changes={"category": [None, category]}, at=at)
    if customer is not None and kind != CaseKind.RECOVERY:
        from aftersales.messaging.services import customer_variables, message_enqueue

        message_enqueue(
            kind="feedback.received", store=store, customer=customer, dedup_key=f"feedback:{case.pk}:received",
            variables={**customer_variables(customer=customer, store=store), "case_no": f"F{case.pk}", "owner_name": str(owner or store.name)},
        )
        _event(case, EventKind.MESSAGE, None, coded(gettext_noop("Customer told the feedback was received")), at)
    with override(getattr(owner, "language", "") or "zh-hans"):
        title = _("New %(kind)s #%(n)s") % {"kind": case.get_kind_display(), "n": case.pk}
        details = text[:120]
    _notify_staff(store=store, user=owner, title=title, details=details, dedup_key=f"feedback:{case.pk}:assigned")
    return case


def _resolve_links(actor: Any, store: Any, customer: Any, vehicle: Any, order: Any) -> None:
    if order is not None and order.store_id != store.pk:
        raise ValidationFailed("order_other_store", _("The repair order belongs to another store."), "order")
    if customer is not None and customer.group_id != store.group_id:
        raise ValidationFailed("customer_other_group", _("This customer is not known in this dealer group."), "customer")
    if vehicle is not None and customer is not None and vehicle.owner_id != customer.pk:
        raise ValidationFailed("vehicle_not_owned", _("This vehicle does not belong to the customer."), "vehicle")


def case_create(
    *, actor: Any, store: Any, kind: str, channel: str, text: str, customer: Any = None, vehicle: Any = None, order: Any = None,
    contact_name: str = "", contact_mobile: str = "",
) -> FeedbackCase:
    """A complaint or suggestion entered by staff (phone, suggestion box, a public review pasted in)."""
    require(actor, "feedback.add_feedbackcase")
    require_store(actor, store.pk)
    if kind not in (CaseKind.COMPLAINT, CaseKind.SUGGESTION):
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    if channel not in (CaseChannel.PHONE, CaseChannel.BOX, CaseChannel.REVIEW, CaseChannel.PORTAL):
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("text_required", _("Write down what the customer said."), "text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed("text_too_long", _("At most %(n)s characters.") % {"n": MAX_TEXT}, "text")
    _resolve_links(actor, store, customer, vehicle, order)
    with transaction.atomic():
        return _case_create(store=store, kind=kind, channel=channel, text=text, actor=actor, customer=customer, vehicle=vehicle,
                            order=order, contact_name=contact_name, contact_mobile=contact_mobile)


def check_photo(upload: Any, field: str = "photos") -> str:
    """An uploaded photo must be a real image (checked by Pillow) within the size cap; returns its content type."""
    from aftersales.common.uploads import probe_image

    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationFailed("photo_too_large", _("Each photo must be at most 5 MB (“%(name)s” is larger).") % {"name": upload.name}, field)
    upload.seek(0)
    probed = probe_image(upload.read())
    upload.seek(0)
    if probed is None or probed[0] not in PHOTO_FORMATS:
        raise ValidationFailed("photo_not_image", _("“%(name)s” is not a photo: upload JPEG, PNG, WebP or GIF images only.") % {"name": upload.name}, field)
    return PHOTO_FORMATS[probed[0]]


def _clean_upload(upload: Any) -> Any:
    """The uploaded photo upright and without EXIF (no GPS position of the customer's phone is kept)."""
    from django.core.files.base import ContentFile

    from aftersales.common.uploads import without_metadata

    upload.seek(0)
    data, _width, _height = without_metadata(upload.read())
    upload.seek(0)
    return ContentFile(data, name=getattr(upload, "name", None) or "photo")


def case_submit_public(
    *, store: Any, kind: str, text: str, name: str, mobile: str, plate: str = "", photos: list[Any] | None = None,
) -> FeedbackCase:
    """A complaint or suggestion from the portal/app form (no login). Linked to the customer and vehicle when the
    mobile number (and plate) are known in the dealer group."""
    from aftersales.common.validators import normalize_mobile
    from aftersales.customers.models import Customer

    if kind not in (CaseKind.COMPLAINT, CaseKind.SUGGESTION):
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("text_required", _("Please tell us what happened."), "text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed("text_too_long", _("At most %(n)s characters.") % {"n": MAX_TEXT}, "text")
    mobile = normalize_mobile(mobile, "mobile")
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed("too_many_photos", _("At most %(n)s photos.") % {"n": MAX_PHOTOS}, "photos")
    types = [check_photo(p) for p in photos]
    customer = Customer.objects.filter(group_id=store.group_id, mobile=mobile).first()
    vehicle = None
    if customer is not None and plate.strip():
        vehicle = customer.vehicles.filter(plate__iexact=plate.strip().upper()).first()
    with transaction.atomic():
        case = _case_create(store=store, kind=kind, channel=CaseChannel.PORTAL, text=text, customer=customer, vehicle=vehicle,
                            contact_name=(name or "").strip(), contact_mobile=mobile)
        for upload, content_type in zip(photos, types, strict=True):
            cleaned = _clean_upload(upload)
            CasePhoto.objects.create(case=case, image=cleaned, content_type=content_type, size=cleaned.size)
    return case


def _lock_case(case: FeedbackCase) -> FeedbackCase:
    return FeedbackCase.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=case.pk)


def _meet(case: FeedbackCase, kinds: tuple[str, ...], at: dt.datetime) -> None:
    SlaTimer.objects.filter(case=case, kind__in=kinds, met_at__isnull=True).update(met_at=at)


def _check_actor(actor: Any, case: FeedbackCase) -> None:
    require(actor, "feedback.change_feedbackcase")
    require_store(actor, case.store_id)


def case_transition(
    *, actor: Any, case: FeedbackCase, to: str, reason: str = "", resolution: str = "", adopted: bool | None = None,
    reaction: str = "", now: dt.datetime | None = None,
) -> FeedbackCase:
    """Move a case through its table (new → acknowledged → in progress → resolved → closed; reopen from resolved
    or closed). Resolving a complaint reports the resolution to the customer; resolving a suggestion tells them
    whether it was adopted; resolving a recovery case records what was done and the customer's reaction."""
    _check_actor(actor, case)
    now = now or timezone.now()
    if to not in CaseStatus.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": to}, "to")
    resolution = (resolution or "").strip()
    with transaction.atomic():
        locked = _lock_case(case)
        before = locked.status
        if to == CaseStatus.RESOLVED:
            if not resolution:
                raise ValidationFailed("resolution_required", _("Write down what was done."), "resolution")
            if locked.kind == CaseKind.SUGGESTION and adopted is None:
                raise ValidationFailed("adopted_required", _("Say whether the suggestion is adopted."), "adopted")
            if locked.kind == CaseKind.RECOVERY and reaction not in Reaction.values:
                raise ValidationFailed("reaction_required", _("Record the customer's reaction."), "reaction")
        is_reopen = to == CaseStatus.IN_PROGRESS and before in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        if is_reopen and not (reason or "").strip():
            raise ValidationFailed("reason_required", _("Say why the case is reopened."), "reason")
        move(locked, to=to, actor=actor, transitions=CASE_TRANSITIONS, event_model=CaseEvent, event_fk="case",
             reason=reason or resolution, labels=CaseStatus, at=now)
        if to == CaseStatus.ACKNOWLEDGED:
            _meet(locked, (TimerKind.ACKNOWLEDGE,), now)
        elif to == CaseStatus.RESOLVED:
            locked.resolution, locked.resolved_at = resolution, now
            if locked.kind == CaseKind.SUGGESTION:
                locked.adopted = adopted
            if locked.kind == CaseKind.RECOVERY:
                locked.reaction = reaction
            if locked.paused_at is not None:
                locked.paused_at = None
            locked.save(update_fields=["resolution", "resolved_at", "adopted", "reaction", "paused_at"])
            _meet(locked, (TimerKind.ACKNOWLEDGE, TimerKind.CONTACT, TimerKind.RESOLVE, TimerKind.ASSESS, TimerKind.RECOVERY), now)
            _tell_customer_resolved(locked, now)
        elif is_reopen:
            locked.resolved_at = None
            locked.save(update_fields=["resolved_at"])
        audit.record(actor=actor, obj=locked, action="feedback_case.moved", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"status": [before, to]}, reason=reason, at=now)
        events.publish(events.CaseMoved(case_id=locked.pk, store_id=locked.store_id, before=before, to=to))
    return locked


def _tell_customer_resolved(case: FeedbackCase, at: dt.datetime) -> None:
    from aftersales.messaging.services import customer_variables, message_enqueue

    if case.customer is None or case.kind == CaseKind.RECOVERY:
        return
    n = CaseEvent.objects.filter(case=case, kind=EventKind.STATUS, to_state=CaseStatus.RESOLVED).count()
    base = {**customer_variables(customer=case.customer, store=case.store), "case_no": f"F{case.pk}"}
    if case.kind == CaseKind.SUGGESTION:
        with override(getattr(case.customer, "language", "") or "zh-hans"):
            decision = _("adopted") if case.adopted else _("not adopted this time")
        message_enqueue(kind="feedback.suggestion_answer", store=case.store, customer=case.customer,
                        dedup_key=f"feedback:{case.pk}:answer:{n}", variables={**base, "decision": str(decision), "details": case.resolution})
    else:
        message_enqueue(kind="feedback.resolved", store=case.store, customer=case.customer, dedup_key=f"feedback:{case.pk}:resolved:{n}",
                        variables={**base, "resolution": case.resolution})
    _event(case, EventKind.MESSAGE, None, coded(gettext_noop("Resolution reported to the customer")), at)


def case_record_contact(*, actor: Any, case: FeedbackCase, note: str, now: dt.datetime | None = None) -> FeedbackCase:
    """The owner contacted the customer (meets a complaint's 24-hour contact timer)."""
    _check_actor(actor, case)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("note_required", _("Write down what was said."), "note")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.status not in OPEN_CASE_STATES:
            raise Conflict("case_closed", _("This case is resolved or closed; reopen it first."), "note")
        _event(locked, EventKind.CONTACT, actor, note, now)
        _meet(locked, (TimerKind.CONTACT,), now)
        audit.record(actor=actor, obj=locked, action="feedback_case.contact", store_id=locked.store_id, customer_id=locked.customer_id, at=now)
    return locked


def case_add_note(*, actor: Any, case: FeedbackCase, note: str) -> FeedbackCase:
    _check_actor(actor, case)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("note_required", _("Write a note."), "note")
    with transaction.atomic():
        locked = _lock_case(case)
        _event(locked, EventKind.NOTE, actor, note)
        audit.record(actor=actor, obj=locked, action="feedback_case.note", store_id=locked.store_id, customer_id=locked.customer_id)
    return locked


def case_relabel(*, actor: Any, case: FeedbackCase, category: str) -> FeedbackCase:
    """Staff correct the automatic category; the correction is kept for retraining and the case is re-routed."""
    _check_actor(actor, case)
    if category not in Category.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": category}, "category")
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.category == category:
            return locked
        before = locked.category
        LabelCorrection.objects.create(case=locked, text=locked.text, predicted=before, corrected=category, actor=actor, at=timezone.now())
        locked.category, locked.category_corrected, locked.category_confidence = category, True, 1.0
        fields = ["category", "category_corrected", "category_confidence"]
        if locked.kind != CaseKind.RECOVERY:
            owner = route_owner(locked.store, category)
            if owner is not None and owner.pk != locked.owner_id:
                locked.owner = owner
                fields.append("owner")
                with override(getattr(owner, "language", "") or "zh-hans"):  # the owner's language, not the actor's
                    title = _("Case #%(n)s routed to you") % {"n": locked.pk}
                _notify_staff(store=locked.store, user=owner, title=title,
                              details=locked.text[:120], dedup_key=f"feedback:{locked.pk}:routed:{category}")
        locked.save(update_fields=fields)
        _event(locked, EventKind.LABEL, actor, coded(gettext_noop("%(a)s → %(b)s"), a=coded_label(Category(before).label),
                                                   b=coded_label(Category(category).label)))
        audit.record(actor=actor, obj=locked, action="feedback_case.relabelled", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"category": [before, category]})
    return locked


def case_assign(*, actor: Any, case: FeedbackCase, owner: Any) -> FeedbackCase:
    _check_actor(actor, case)
    if owner is None or not owner.memberships.filter(store_id=case.store_id).exists():
        raise ValidationFailed("owner_not_at_store", _("The owner must work at this store."), "owner")
    with transaction.atomic():
        locked = _lock_case(case)
        before = locked.owner_id
        locked.owner = owner
        locked.save(update_fields=["owner"])
        _event(locked, EventKind.NOTE, actor, coded(gettext_noop("Assigned to %(u)s"), u=owner))
        with override(getattr(owner, "language", "") or "zh-hans"):  # the owner's language, not the actor's
            title = _("Case #%(n)s routed to you") % {"n": locked.pk}
        _notify_staff(store=locked.store, user=owner, title=title,
                      details=locked.text[:120], dedup_key=f"feedback:{locked.pk}:assigned:{owner.pk}:{timezone.now().timestamp():.0f}")
        audit.record(actor=actor, obj=locked, action="feedback_case.assigned", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"owner": [before, owner.pk]})
    return locked


def case_pause(*, actor: Any, case: FeedbackCase, reason: str, now: dt.datetime | None = None) -> FeedbackCase:
    """Pause the SLA timers while waiting on the customer (a manager's permission)."""
    require(actor, "feedback.pause_sla")
    require_store(actor, case.store_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("Say what you are waiting for from the customer."), "reason")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.status not in OPEN_CASE_STATES:
            raise Conflict("case_closed", _("This case is resolved or closed; reopen it first."), "reason")
        if locked.paused_at is not None:
            raise Conflict("already_paused", _("The timers are already paused."), "reason")
        locked.paused_at = now
        locked.save(update_fields=["paused_at"])
        _event(locked, EventKind.PAUSE, actor, reason, now)
        audit.record(actor=actor, obj=locked, action="feedback_case.paused", store_id=locked.store_id, customer_id=locked.customer_id, reason=reason, at=now)
    return locked


def case_resume(*, actor: Any, case: FeedbackCase, now: dt.datetime | None = None) -> FeedbackCase:
    """Restart the timers: each open timer gets back the business time that was left when it was paused."""
    _check_actor(actor, case)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_case(case)
        if locked.paused_at is None:
            raise Conflict("not_paused", _("The timers are not paused."), None)
        store = locked.store
        for timer in SlaTimer.objects.select_for_update().filter(case=locked, met_at__isnull=True):
            if timer.due_at > locked.paused_at:
                left_due = business_time.business_seconds_between(store, locked.paused_at, timer.due_at)
                timer.due_at = business_time.add_business_seconds(store, now, left_due)
                if timer.warned_at is None and timer.warn_at > locked.paused_at:
                    left_warn = business_time.business_seconds_between(store, locked.paused_at, timer.warn_at)
                    timer.warn_at = business_time.add_business_seconds(store, now, left_warn)
                timer.save(update_fields=["due_at", "warn_at"])
        paused_for = now - locked.paused_at
        locked.paused_at = None
        locked.save(update_fields=["paused_at"])
        _event(locked, EventKind.RESUME, actor, coded(gettext_noop("Paused for %(h)s h"), h=round(paused_for.total_seconds() / 3600, 1)), now)
        audit.record(actor=actor, obj=locked, action="feedback_case.resumed", store_id=locked.store_id, customer_id=locked.customer_id, at=now)
    return locked


def sla_sweep(*, now: dt.datetime | None = None, batch: int = 1000) -> dict[str, int]:
    """Periodic and idempotent: warn the owner when a timer passes its warning point, escalate to the store's
    managers (in-app and SMS through the outbox) when it is breached. Paused or finished cases are skipped."""
    now = now or timezone.now()
    counts = {"warned": 0, "escalated": 0}
    live = {"met_at__isnull": True, "case__paused_at__isnull": True, "case__status__in": OPEN_CASE_STATES}
    for field, stamp, key in (("due_at", "breached_at", "escalated"), ("warn_at", "warned_at", "warned")):
        ids = list(SlaTimer.objects.filter(**live, **{f"{field}__lte": now, f"{stamp}__isnull": True}).values_list("id", flat=True)[:batch])
        for pk in ids:
            with transaction.atomic():
                timer = SlaTimer.objects.select_for_update(of=("self",)).select_related("case__store", "case__owner").get(pk=pk)
                if timer.met_at is not None or getattr(timer, stamp) is not None or timer.case.paused_at is not None:
                    continue
                case = timer.case
                if key == "escalated":
                    timer.breached_at = now
                    if timer.warned_at is None:
                        timer.warned_at = now
                    timer.save(update_fields=["breached_at", "warned_at"])
                    for manager in store_managers(case.store):
                        with override(getattr(manager, "language", "") or "zh-hans"):
                            title = _("SLA breached: case #%(n)s (%(t)s)") % {"n": case.pk, "t": timer.get_kind_display()}
                            details = _("Owner %(o)s; due %(d)s. %(text)s") % {
                                "o": case.owner or "—", "d": timezone.localtime(timer.due_at, case.store.zone).strftime("%Y-%m-%d %H:%M"),
                                "text": case.text[:80]}
                        _notify_staff(store=case.store, user=manager, title=title, details=details,
                                      dedup_key=f"feedback:timer:{timer.pk}:breach:{manager.pk}", sms=True)
                    _event(case, EventKind.ESCALATION, None, coded_label(TimerKind(timer.kind).label), now)
                else:
                    timer.warned_at = now
                    timer.save(update_fields=["warned_at"])
                    owner = case.owner
                    with override(getattr(owner, "language", "") or "zh-hans"):
                        title = _("Due soon: case #%(n)s (%(t)s)") % {"n": case.pk, "t": timer.get_kind_display()}
                        details = _("Due %(d)s. %(text)s") % {
                            "d": timezone.localtime(timer.due_at, case.store.zone).strftime("%Y-%m-%d %H:%M"), "text": case.text[:80]}
                    _notify_staff(store=case.store, user=owner, title=title, details=details, dedup_key=f"feedback:timer:{timer.pk}:warn")
                    _event(case, EventKind.WARNING, None, coded_label(TimerKind(timer.kind).label), now)
                counts[key] += 1
    return counts


# ---- routing, improvement actions, settings ----------------------------------------------------------------
def routing_set(*, actor: Any, store: Any, category: str, owner: Any) -> RoutingRule | None:
    """Set (or with ``owner=None`` clear) who owns a category's cases at a store."""
    require(actor, "feedback.change_routingrule")
    require_store(actor, store.pk)
    if category not in Category.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": category}, "category")
    with transaction.atomic():
        if owner is None:
            RoutingRule.objects.filter(store=store, category=category).delete()
            audit.record(actor=actor, obj=store, action="feedback.routing_cleared", store_id=store.pk, changes={category: [None, None]})
            return None
        if not owner.memberships.filter(store=store).exists():
            raise ValidationFailed("owner_not_at_store", _("The owner must work at this store."), "owner")
        rule, _created = RoutingRule.objects.update_or_create(store=store, category=category, defaults={"owner": owner})
        audit.record(actor=actor, obj=rule, action="feedback.routing_set", store_id=store.pk, changes={category: [None, owner.pk]})
    return rule


def improvement_action_create(*, actor: Any, store: Any, category: str, title: str, owner: Any, start_date: dt.date) -> ImprovementAction:
    require(actor, "feedback.add_improvementaction")
    require_store(actor, store.pk)
    if category not in Category.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": category}, "category")
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("title_required", _("Describe the action."), "title")
    if owner is None or not owner.memberships.filter(store=store).exists():
        raise ValidationFailed("owner_not_at_store", _("The owner must work at this store."), "owner")
    with transaction.atomic():
        action = ImprovementAction.objects.create(store=store, category=category, title=title[:200], owner=owner, start_date=start_date)
        audit.record(actor=actor, obj=action, action="feedback.improvement_action", store_id=store.pk, changes={"category": [None, category]})
    return action
