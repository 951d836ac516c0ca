"""People (SPEC §20): writes for certifications and the daily reminder of certificates about to expire.

The ``Certification`` model lives in ``staff`` (a low layer) so that the workshop's dispatch can check it without
importing this app (ARCHITECTURE habit 7); this app is the only one that writes it (docs/people.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from aftersales.common import audit
from aftersales.common.db import service_atomic
from aftersales.common.errors import Conflict, Forbidden, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.uploads import check_image
from aftersales.staff.models import Certificate, Certification

EXPIRY_WARNING_DAYS = 60
REMINDER_KIND = "people.certificate_expiring"


def _date(value: Any, field: str, problems: list[ValidationFailed]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        problems.append(ValidationFailed("required", _("Enter a date."), field))
        return None
    try:
        day = parse_date(text)
    except ValueError:
        day = None
    if day is None:
        problems.append(ValidationFailed("date_format", _("Enter a date such as 2026-12-01."), field))
    return day


def _text(value: Any, field: str, limit: int, problems: list[ValidationFailed], *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        problems.append(ValidationFailed("required", _("This field is required."), field))
    elif len(text) > limit:
        problems.append(ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": limit}, field))
    return text[:limit]


def _raise(problems: list[ValidationFailed]) -> None:
    if problems:
        first = problems[0]
        raise ValidationFailed(
            first.code, first.message, first.field,
            errors=[{"code": p.code, "field": p.field, "message": str(p.message)} for p in problems],
        )


def certification_record(
    *, actor: Any, holder: Any, kind: str, issuer: str, number: str, valid_from: Any, valid_until: Any,
    level: str = "", scan: bytes | None = None,
) -> Certification:
    """Record a certificate a member of staff holds. Every bad field is named at once; nothing is written then.
    The scan is checked like every upload (an image within the size cap, stored upright without EXIF)."""
    require(actor, "staff.add_certification")
    problems: list[ValidationFailed] = []
    if kind not in Certificate.values:
        problems.append(ValidationFailed("invalid_choice", _("Choose what the certificate is for."), "kind"))
    issuer = _text(issuer, "issuer", 120, problems)
    number = _text(number, "number", 60, problems)
    level = _text(level, "level", 60, problems, required=False)
    start = _date(valid_from, "valid_from", problems)
    end = _date(valid_until, "valid_until", problems)
    if start and end and end < start:
        problems.append(ValidationFailed("dates_reversed", _("The certificate must end after it starts."), "valid_until"))
    image = None
    if scan:
        try:
            image = check_image(scan, field="scan")
        except ValidationFailed as exc:
            problems.append(exc)
    _raise(problems)
    try:
        with transaction.atomic():
            cert = Certification(
                user=holder, kind=kind, issuer=issuer, level=level, number=number,
                valid_from=start, valid_until=end,  # type: ignore[misc]  # both checked above (None raised)
                created_by=actor,
            )
            if image is not None:
                digest = hashlib.sha256(image.content).hexdigest()[:16]
                cert.scan.save(f"{digest}.{image.extension}", ContentFile(image.content), save=False)
            cert.save()
            audit.record(
                actor=actor, obj=cert, action="certification.recorded",
                changes={"holder": [None, holder.pk], "kind": [None, kind], "number": [None, number],
                         "valid": [None, f"{start}..{end}"]},
            )
    except IntegrityError as exc:
        raise Conflict(
            "certificate_exists", _("This issuer's certificate with this number is already recorded."), "number"
        ) from exc
    return cert


def certification_withdraw(*, actor: Any, certification: Certification, reason: str) -> Certification:
    """Withdraw a certificate (revoked or recorded by mistake): it stops counting at once."""
    require(actor, "staff.change_certification")
    _not_own(actor, certification)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed("reason_required", _("Say why the certificate is withdrawn."), "reason")
    with transaction.atomic():
        locked = Certification.objects.select_for_update().get(pk=certification.pk)
        if locked.withdrawn_at is not None:
            raise Conflict("already_withdrawn", _("This certificate is already withdrawn."), "certification")
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        audit.record(actor=actor, obj=locked, action="certification.withdrawn",
                     changes={"withdrawn_at": [None, audit.plain(locked.withdrawn_at)]}, reason=reason[:300])
    return locked


def _not_own(actor: Any, certification: Certification) -> None:
    if certification.user_id == actor.pk:
        raise Forbidden("own_certificate", _("Your own certificate is changed by your manager, not by you."),
                        "certification")


def certification_update(
    *, actor: Any, certification: Certification, issuer: Any = None, number: Any = None, level: Any = None,
    valid_from: Any = None, valid_until: Any = None, scan: bytes | None = None, reason: str = "",
) -> Certification:
    """Correct or renew a certificate: issuer, level, number, validity and the scan (``None`` leaves a field as it
    is). Renewing is this with the new dates (and number, scan): the dedup key of the expiry reminder names the end
    date, so a renewed certificate is reminded again in its time. Every bad field is named at once; the audit row
    keeps the values before and after. A withdrawn certificate cannot be changed (record a new one)."""
    require(actor, "staff.change_certification")
    _not_own(actor, certification)
    problems: list[ValidationFailed] = []
    current = certification
    values: dict[str, Any] = {}
    if issuer is not None:
        values["issuer"] = _text(issuer, "issuer", 120, problems)
    if number is not None:
        values["number"] = _text(number, "number", 60, problems)
    if level is not None:
        values["level"] = _text(level, "level", 60, problems, required=False)
    if valid_from is not None:
        values["valid_from"] = _date(valid_from, "valid_from", problems)
    if valid_until is not None:
        values["valid_until"] = _date(valid_until, "valid_until", problems)
    start = values.get("valid_from", current.valid_from)
    end = values.get("valid_until", current.valid_until)
    if start and end and end < start:
        problems.append(ValidationFailed("dates_reversed", _("The certificate must end after it starts."), "valid_until"))
    image = None
    if scan:
        try:
            image = check_image(scan, field="scan")
        except ValidationFailed as exc:
            problems.append(exc)
    _raise(problems)
    try:
        with transaction.atomic():
            locked = Certification.objects.select_for_update().get(pk=certification.pk)
            if locked.withdrawn_at is not None:
                raise Conflict("certificate_withdrawn", _("A withdrawn certificate cannot be changed: record a new one."),
                               "certification")
            changes: dict[str, list[Any]] = {}
            for name, value in values.items():
                if getattr(locked, name) != value:
                    changes[name] = [audit.plain(getattr(locked, name)), audit.plain(value)]
                    setattr(locked, name, value)
            if image is not None:
                digest = hashlib.sha256(image.content).hexdigest()[:16]
                changes["scan"] = [locked.scan.name or None, "new"]
                locked.scan.save(f"{digest}.{image.extension}", ContentFile(image.content), save=False)
            if changes:
                locked.save()
                audit.record(actor=actor, obj=locked, action="certification.changed", changes=changes,
                             reason=" ".join((reason or "").split())[:300])
    except IntegrityError as exc:
        raise Conflict(
            "certificate_exists", _("This issuer's certificate with this number is already recorded."), "number"
        ) from exc
    return locked


def certificate_reminder_sweep(*, now: dt.datetime | None = None) -> int:
    """Daily: each certificate that expires within 60 days gets one in-app reminder to its holder and one to each
    foreman of the holder's stores, through the outbox. The dedup key names the certificate and its end date, so the
    sweep is safe to run twice (and a renewed certificate is reminded again before its new end). Returns the
    messages created."""
    from aftersales.customers.choices import Channel
    from aftersales.messaging.models import Message
    from aftersales.messaging.services import OutgoingMessage, message_enqueue_many
    from aftersales.staff.models import StoreMembership
    from aftersales.staff.roles import Role

    from .selectors import expiring_certifications_all

    now = now or timezone.now()
    created = 0
    for cert, store, days in expiring_certifications_all(now, EXPIRY_WARNING_DAYS):
        foremen = list(
            StoreMembership.objects.filter(store=store, user__groups__name=Role.FOREMAN, user__is_active=True)
            .exclude(user_id=cert.user_id).select_related("user").distinct()
        )
        variables = {
            "holder_name": str(cert.user), "certificate": str(Certificate(cert.kind).label),
            "number": cert.number, "valid_until": cert.valid_until.isoformat(), "days": str(days),
            "link": f"/people/?store={store.pk}",
        }
        recipients = [(cert.user, "/people/me/")] + [(m.user, f"/people/?store={store.pk}") for m in foremen]
        items = [
            OutgoingMessage(
                kind=REMINDER_KIND, store=store, staff_user=user, channel=Channel.APP,
                dedup_key=f"people.cert_expiring:{cert.pk}:{cert.valid_until.isoformat()}:{user.pk}",
                variables={**variables, "link": link},
            )
            for user, link in recipients
        ]
        keys = [i.dedup_key for i in items]
        before = set(Message.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        with transaction.atomic():
            message_enqueue_many(items=items, skip_invalid=True)
        created += len(set(keys) - before)
    return created


# ---- the store's people settings, training assignments -------------------------------------------------------------
def _decimal(value: Any, field: str, problems: list[ValidationFailed], *, limit: Decimal) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number < 0 or number > limit:
        problems.append(ValidationFailed("number_range", _("Enter a number from 0 to %(max)s.") % {"max": limit}, field))
        return None
    return number


def people_settings_update(
    *, actor: Any, store: Any, complaint_rate_threshold: Any, referral_reward: Any, gm_reception_target: Any,
    general_manager: Any = None,
) -> Any:
    """Set a store's complaint-rate threshold, referral reward, general manager and their monthly reception target."""
    from aftersales.staff.models import StoreMembership

    from .models import PeopleSettings

    require(actor, "people.change_peoplesettings")
    require_store(actor, store.pk)
    problems: list[ValidationFailed] = []
    threshold = _decimal(complaint_rate_threshold, "complaint_rate_threshold", problems, limit=Decimal(100))
    reward = _decimal(referral_reward, "referral_reward", problems, limit=Decimal(100000))
    target_text = str(gm_reception_target).strip()
    if not target_text.isdigit() or int(target_text) > 500:
        problems.append(ValidationFailed("number_range", _("Enter a whole number from 0 to 500."), "gm_reception_target"))
    if general_manager is not None and not StoreMembership.objects.filter(user=general_manager, store=store).exists():
        problems.append(ValidationFailed("not_at_store", _("Choose someone who works at this store."), "general_manager"))
    _raise(problems)
    with service_atomic():
        row, _created = PeopleSettings.objects.select_for_update().get_or_create(store=store)
        values = {"complaint_rate_threshold": threshold.quantize(Decimal("0.1")) if threshold is not None else None,
                  "referral_reward": reward.quantize(Decimal("0.01")) if reward is not None else None,
                  "gm_reception_target": int(target_text), "general_manager_id": getattr(general_manager, "pk", None)}
        changes = {k: [audit.plain(getattr(row, k)), audit.plain(v)] for k, v in values.items() if getattr(row, k) != v}
        for k, v in values.items():
            setattr(row, k, v)
        row.save()
        if changes:
            audit.record(actor=actor, obj=row, action="people.settings", store_id=store.pk, changes=changes)
    return row


def training_assign(
    *, actor: Any, store: Any, person: Any, topic: str, reason: str = "", period_start: dt.date | None = None,
    due_on: Any = None, source: str = "manager",
) -> Any:
    """Send a member of staff to training on a topic (a flagged complaint rate proposes it); done when they attend a
    session on that topic. A flag (``source="complaints"``) assigns once per person and quarter."""
    from aftersales.staff.models import StoreMembership

    from .models import TrainingAssignment

    require(actor, "people.add_trainingassignment")
    require_store(actor, store.pk)
    problems: list[ValidationFailed] = []
    if person is None or not StoreMembership.objects.filter(user=person, store=store).exists():
        problems.append(ValidationFailed("not_at_store", _("Choose someone who works at this store."), "person"))
    topic = _text(topic, "topic", 120, problems)
    reason = _text(reason, "reason", 300, problems, required=False)
    due = _date(due_on, "due_on", problems) if due_on not in (None, "") else None
    _raise(problems)
    with service_atomic():
        if period_start is not None and TrainingAssignment.objects.select_for_update().filter(
            person=person, source=source, period_start=period_start
        ).exists():
            raise Conflict("already_assigned", _("%(name)s is already assigned this training.") % {"name": person},
                           "person")
        assignment = TrainingAssignment.objects.create(
            store=store, person=person, topic=topic, reason=reason, period_start=period_start, due_on=due,
            created_by=actor, source=source if source in ("complaints", "manager") else "manager",
        )
        audit.record(actor=actor, obj=assignment, action="training.assigned", store_id=store.pk,
                     changes={"person": [None, person.pk], "topic": [None, topic]}, reason=reason)
    return assignment


# ---- referral rewards ------------------------------------------------------------------------------------------------
def referral_rewards_pay(*, actor: Any, store: Any, staff: Any, note: str = "") -> list[Any]:
    """Record the payout of a member of staff's referral rewards: every qualified referral they recorded at the store
    that has not been paid gets one reward at the store's current amount (``PeopleSettings.referral_reward``)."""
    from aftersales.loyalty.choices import ReferralStatus
    from aftersales.loyalty.models import Referral

    from .incentives import settings_for
    from .models import ReferralReward

    require(actor, "people.add_referralreward")
    require_store(actor, store.pk)
    note = " ".join((note or "").split())[:200]
    amount = settings_for(store).referral_reward
    now = timezone.now()
    with service_atomic():
        due = list(
            Referral.objects.select_for_update(of=("self",)).filter(  # the reward join is an outer join (PostgreSQL)
                store=store, staff=staff, status__in=(ReferralStatus.QUALIFIED, ReferralStatus.REWARDED),
                staff_reward__isnull=True,
            ).order_by("qualified_at", "id")
        )
        if not due:
            raise Conflict("nothing_to_pay", _("%(name)s has no unpaid referral reward.") % {"name": staff}, "staff")
        rewards = ReferralReward.objects.bulk_create([
            ReferralReward(referral=r, store=store, staff=staff, amount=amount, paid_at=now, paid_by=actor, note=note)
            for r in due
        ])
        audit.record(actor=actor, obj=staff, action="people.referral_rewards_paid", store_id=store.pk,
                     changes={"referrals": [None, len(due)], "amount": [None, str(amount * len(due))]}, reason=note)
    return rewards


# ---- the general manager's receptions ------------------------------------------------------------------------------
def gm_reception_record(
    *, actor: Any, store: Any, handover: Any = None, order: Any = None, customer: Any = None, note: str = "",
    received_at: dt.datetime | None = None,
) -> Any:
    """Log a customer the general manager received in person, linked to the visit (a handover sheet or a repair
    order of the store, or just the customer). The receiver is the store's general manager (people settings); the
    general manager logs it, or a manager for them. One per handover sheet."""
    from .incentives import settings_for
    from .models import GMReception

    require_store(actor, store.pk)
    rules = settings_for(store)
    if rules.general_manager_id != actor.pk:
        require(actor, "people.add_gmreception")
    problems: list[ValidationFailed] = []
    if rules.general_manager_id is None:
        problems.append(ValidationFailed("no_general_manager",
                                         _("Name the store's general manager in the people settings first."),
                                         "received_by"))
    for obj, field in ((handover, "handover"), (order, "order")):
        if obj is not None and obj.store_id != store.pk:
            problems.append(ValidationFailed("not_at_store", _("Choose a visit of this store."), field))
    if handover is not None and order is None:
        order = handover.order
    customer = customer or getattr(handover, "customer", None) or getattr(order, "customer", None)
    if customer is None:
        problems.append(ValidationFailed("required", _("Choose the customer's visit."), "handover"))
    note = _text(note, "note", 300, problems, required=False)
    _raise(problems)
    with service_atomic():
        if handover is not None and GMReception.objects.select_for_update().filter(handover=handover).exists():
            raise Conflict("already_received", _("This visit is already logged as received by the general manager."),
                           "handover")
        reception = GMReception.objects.create(
            store=store, received_by_id=rules.general_manager_id, customer=customer, handover=handover, order=order,
            received_at=received_at or timezone.now(), note=note, created_by=actor,
        )
        audit.record(actor=actor, obj=reception, action="people.gm_reception", store_id=store.pk,
                     customer_id=customer.pk, changes={"received_by": [None, rules.general_manager_id]})
    return reception


# ---- the monthly customer-service meeting ----------------------------------------------------------------------------
def _month_start(value: Any, problems: list[ValidationFailed]) -> dt.date | None:
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        year, month = (int(x) for x in str(value or "").strip().split("-")[:2])
        return dt.date(year, month, 1)
    except ValueError:
        problems.append(ValidationFailed("month_format", _("Enter a month such as 2026-11."), "month"))
        return None


def meeting_record(
    *, actor: Any, store: Any, held_on: Any, month: Any, attendees: list[Any], minutes: str = "",
    cases: list[Any] | None = None,
) -> Any:
    """The monthly customer-service meeting: its date, the month it reviews, who attended, the cases shared, the
    minutes. One per store and month (a second is a 409; change the first instead)."""
    from aftersales.staff.models import StoreMembership

    from .models import ServiceMeeting

    require(actor, "people.add_servicemeeting")
    require_store(actor, store.pk)
    problems: list[ValidationFailed] = []
    day = _date(held_on, "held_on", problems)
    first = _month_start(month, problems)
    people = [u for u in attendees if u is not None]
    if not people:
        problems.append(ValidationFailed("required", _("Tick who attended."), "attendees"))
    elif StoreMembership.objects.filter(store=store, user__in=people).values("user").distinct().count() != len(
        {u.pk for u in people}
    ):
        problems.append(ValidationFailed("not_at_store", _("Choose someone who works at this store."), "attendees"))
    if any(c.store_id != store.pk for c in cases or []):
        problems.append(ValidationFailed("not_at_store", _("Choose cases of this store."), "cases"))
    if len(minutes or "") > 10000:
        problems.append(ValidationFailed("too_long", _("At most %(n)s characters.") % {"n": 10000}, "minutes"))
    _raise(problems)
    assert day is not None and first is not None  # problems raised above otherwise
    try:
        with transaction.atomic():
            meeting = ServiceMeeting.objects.create(store=store, held_on=day, month=first, minutes=(minutes or "").strip(),
                                                    created_by=actor)
            meeting.attendees.set(people)
            meeting.cases.set(cases or [])
            audit.record(actor=actor, obj=meeting, action="people.meeting", store_id=store.pk,
                         changes={"month": [None, audit.plain(first)], "attendees": [None, len(people)]})
    except IntegrityError as exc:
        raise Conflict("meeting_exists", _("This month's meeting is already recorded."), "month") from exc
    return meeting


def meeting_update(*, actor: Any, meeting: Any, minutes: str | None = None, cases: list[Any] | None = None) -> Any:
    """Add to the minutes or the cases shared after the meeting."""
    require(actor, "people.change_servicemeeting")
    require_store(actor, meeting.store_id)
    if any(c.store_id != meeting.store_id for c in cases or []):
        raise ValidationFailed("not_at_store", _("Choose cases of this store."), "cases")
    with service_atomic():
        if minutes is not None:
            meeting.minutes = minutes.strip()[:10000]
            meeting.save(update_fields=["minutes"])
        if cases is not None:
            meeting.cases.set(cases)
        audit.record(actor=actor, obj=meeting, action="people.meeting_changed", store_id=meeting.store_id)
    return meeting


def meeting_action_add(
    *, actor: Any, meeting: Any, category: str, title: str, owner: Any, due_on: Any,
) -> Any:
    """An improvement action decided at the meeting, with its owner and due date. It is the feedback report's own
    action (``feedback.ImprovementAction``: one list, not two); the meeting adds the due date and the status."""
    from aftersales.feedback import services as feedback_services

    from .models import MeetingAction

    require(actor, "people.change_servicemeeting")
    require_store(actor, meeting.store_id)
    problems: list[ValidationFailed] = []
    due = _date(due_on, "due_on", problems)
    if due is not None and due < meeting.held_on:
        problems.append(ValidationFailed("due_before_meeting", _("The due date must be after the meeting."), "due_on"))
    _raise(problems)
    with service_atomic():
        action = feedback_services.improvement_action_create(
            actor=actor, store=meeting.store, category=category, title=title, owner=owner, start_date=meeting.held_on,
        )
        return MeetingAction.objects.create(action=action, meeting=meeting, due_on=due)


def meeting_action_status(*, actor: Any, action: Any, done: bool, effect: str = "") -> Any:
    """Mark an improvement action done (or open again) and note the effect seen; works for the actions recorded on
    the feedback report too (they are the same list)."""
    from .models import MeetingAction

    require(actor, "people.change_servicemeeting")
    require_store(actor, action.store_id)
    effect = " ".join((effect or "").split())[:300]
    with service_atomic():
        row, _created = MeetingAction.objects.select_for_update().get_or_create(action=action)
        before = row.done_at
        row.done_at = (row.done_at or timezone.now()) if done else None
        if effect:
            row.effect = effect
        row.save()
        audit.record(actor=actor, obj=action, action="people.meeting_action", store_id=action.store_id,
                     changes={"done_at": [audit.plain(before), audit.plain(row.done_at)]}, reason=effect)
    return row
