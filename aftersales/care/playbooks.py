"""Playbooks and campaigns (SPEC §10): triggers enrol customers, a periodic task advances each enrolment step by
step (message, call task, voucher, wait) until a stop condition (booked, visited, opted out) or the last step.

A random but stable share of each playbook's enrolments (default 10 %) is a hold-out group that receives nothing:
the hold-out is decided by a hash of the playbook id and the customer id, so it never changes between runs, and
the results compare the contacted group with it (uplift).

Tiers and segments come from the engagement app and vouchers from the loyalty app; until those apps are installed
a playbook using them cannot be activated (``dependency_missing``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override, pgettext_lazy

from aftersales.common import audit
from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.money import q
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move

from .choices import (
    ENGAGEMENT_TRIGGERS,
    ENROLMENT_TRANSITIONS,
    CallTarget,
    DateEvent,
    EnrolmentStatus,
    StepKind,
    StopReason,
    TriggerKind,
)
from .models import Enrolment, EnrolmentAction, EnrolmentEvent, Playbook, PlaybookStep

#: message kinds a playbook step may send (their variables are filled in by ``_message_variables``)
PLAYBOOK_KINDS = ("campaign.offer", "care.club", "care.recall", "care.recommendation")
CATCH_UP_DAYS = 6  # a date event or an inactivity threshold crossed while the task did not run is still caught
ADVANCE_BATCH = 500
VISIT_STATUSES = ("delivered", "closed")
#: (every N km, recommendation) for the mileage-based recommendations of playbook B
RECOMMENDATIONS = (  # translated when the message is rendered, in the customer's language
    (60000, pgettext_lazy("recommended work", "check the timing belt")),
    (40000, pgettext_lazy("recommended work", "replace the brake fluid")),
    (30000, pgettext_lazy("recommended work", "replace the spark plugs")),
    (20000, pgettext_lazy("recommended work", "change the gearbox oil")),
    (10000, pgettext_lazy("recommended work", "wheel alignment and tyre rotation")),
)


# ---- dependencies --------------------------------------------------------------------------------------------------
def engagement_available() -> bool:
    if not apps.is_installed("aftersales.engagement"):
        return False
    try:
        from aftersales.engagement import selectors as engagement_selectors
        from aftersales.engagement.models import Segment, TierChange  # noqa: F401
    except ImportError:
        return False
    return hasattr(engagement_selectors, "segment_customers")


def loyalty_available() -> bool:
    if not apps.is_installed("aftersales.loyalty"):
        return False
    try:
        from aftersales.loyalty.models import VoucherTemplate  # noqa: F401
        from aftersales.loyalty.services import voucher_issue  # noqa: F401
    except ImportError:
        return False
    return True


# ---- hold-out ------------------------------------------------------------------------------------------------------
def holdout_bucket(playbook_id: int, customer_id: int) -> int:
    """0–9999, uniform and stable for a (playbook, customer) pair."""
    digest = hashlib.sha256(f"care-holdout:{playbook_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000


def is_holdout(playbook_id: int, customer_id: int, percent: int) -> bool:
    return holdout_bucket(playbook_id, customer_id) < percent * 100


# ---- configuration -------------------------------------------------------------------------------------------------
def playbook_check(playbook: Playbook) -> None:
    """Refuse a configuration that cannot run (raised on activation)."""
    if playbook.trigger in ENGAGEMENT_TRIGGERS and not engagement_available():
        raise ValidationFailed(
            "dependency_missing",
            _("Tier and segment triggers need the engagement module (tiers and segments), which is not installed yet."),
            "trigger",
        )
    steps = list(playbook.steps.all())
    if any(s.kind == StepKind.VOUCHER for s in steps) and not loyalty_available():
        raise ValidationFailed(
            "dependency_missing", _("Voucher steps need the loyalty module (vouchers), which is not installed yet."), "steps"
        )
    if not steps:
        raise ValidationFailed("steps_required", _("Add at least one step."), "steps")
    if playbook.trigger == TriggerKind.TIER_ENTERED and playbook.tier not in ("A", "B", "C", "D"):
        raise ValidationFailed("tier_required", _("Choose the tier: A, B, C or D."), "tier")
    if playbook.trigger == TriggerKind.DATE_EVENT and playbook.date_event not in DateEvent.values:
        raise ValidationFailed("date_event_required", _("Choose the date event."), "date_event")
    if playbook.trigger == TriggerKind.INACTIVITY and not playbook.inactivity_days:
        raise ValidationFailed("inactivity_required", _("Enter the number of days without a visit."), "inactivity_days")
    if playbook.trigger == TriggerKind.SEGMENT and not playbook.segment_id:
        raise ValidationFailed("segment_required", _("Choose the segment."), "segment_id")
    if playbook.segment_id and playbook.trigger in (TriggerKind.SEGMENT, TriggerKind.SCHEDULED):
        if not engagement_available():
            raise ValidationFailed(
                "dependency_missing",
                _("Tier and segment triggers need the engagement module (tiers and segments), which is not installed yet."),
                "segment_id",
            )
        from aftersales.engagement.models import Segment

        store = playbook.store
        if not Segment.objects.filter(pk=playbook.segment_id, group_id=store.group_id).filter(
            Q(store__isnull=True) | Q(store_id=store.pk)
        ).exists():
            raise ValidationFailed("segment_unknown", _("Unknown segment for this store."), "segment_id")
    if playbook.trigger == TriggerKind.SCHEDULED and playbook.starts_at is None:
        raise ValidationFailed("starts_at_required", _("Enter when the campaign starts."), "starts_at")


PLAYBOOK_FIELDS = (
    "name", "description", "trigger", "tier", "date_event", "offset_days", "inactivity_days", "segment_id",
    "audience_make", "starts_at", "holdout_percent", "stop_on_booked", "stop_on_visited", "stop_on_opt_out",
    "measure_days",
)


def playbook_save(*, actor: Any, store: Any, data: dict[str, Any], playbook: Playbook | None = None,
                  code: str = "", is_campaign: bool = False) -> Playbook:
    """Create a playbook or campaign (inactive) or change one; an active one is re-checked."""
    require(actor, "care.change_playbook")
    require_store(actor, store.pk)
    clean = {k: v for k, v in data.items() if k in PLAYBOOK_FIELDS}
    if "trigger" in clean and clean["trigger"] not in TriggerKind.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": clean["trigger"]}, "trigger")
    if "holdout_percent" in clean and not 0 <= int(clean["holdout_percent"] or 0) <= 50:
        raise ValidationFailed("holdout_range", _("The hold-out group is between 0 and 50 %."), "holdout_percent")
    if "name" in clean and not str(clean["name"] or "").strip():
        raise ValidationFailed("name_required", _("The name is required."), "name")
    with transaction.atomic():
        if playbook is None:
            code = (code or "").strip()
            if not code:
                code = f"{'campaign' if is_campaign else 'playbook'}-{Playbook.objects.filter(store=store).count() + 1}"
            if Playbook.objects.filter(store=store, code=code).exists():
                raise ValidationFailed("code_taken", _("This code is already used at this store."), "code")
            playbook = Playbook.objects.create(store=store, code=code, is_campaign=is_campaign, updated_by=actor,
                                               **{"trigger": TriggerKind.SCHEDULED if is_campaign else TriggerKind.DATE_EVENT, **clean})
            audit.record(actor=actor, obj=playbook, action="playbook.created", store_id=store.pk)
            return playbook
        if playbook.store_id != store.pk:
            raise ValidationFailed("store_mismatch", _("This playbook belongs to another store."), "store")
        locked, changes = audit.update_locked(Playbook, playbook.pk, {**clean, "updated_by": actor}, PLAYBOOK_FIELDS)
        if locked.is_active:
            playbook_check(locked)
        audit.record(actor=actor, obj=locked, action="playbook.changed", store_id=store.pk, changes=changes)
        return locked


def playbook_step_add(*, actor: Any, playbook: Playbook, kind: str, message_kind: str = "", channel: str = "",
                      text: str = "", wait_days: int = 0, call_target: str = "", voucher_template_id: int | None = None) -> PlaybookStep:
    from aftersales.messaging.choices import Channel

    require(actor, "care.change_playbook")
    require_store(actor, playbook.store_id)
    if kind not in StepKind.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": kind}, "kind")
    if kind == StepKind.MESSAGE and message_kind not in PLAYBOOK_KINDS:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": message_kind}, "message_kind")
    if channel and channel not in Channel.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": channel}, "channel")
    if kind == StepKind.WAIT and not 1 <= int(wait_days or 0) <= 365:
        raise ValidationFailed("wait_days_range", _("Wait between 1 and 365 days."), "wait_days")
    if kind == StepKind.CALL and call_target not in CallTarget.values:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": call_target}, "call_target")
    if kind == StepKind.VOUCHER:
        if not loyalty_available():
            raise ValidationFailed("dependency_missing", _("Voucher steps need the loyalty module (vouchers), which is not installed yet."), "kind")
        from aftersales.loyalty.models import VoucherTemplate

        store = playbook.store
        if not voucher_template_id or not VoucherTemplate.objects.filter(
            Q(store__isnull=True) | Q(store_id=store.pk), pk=voucher_template_id, group_id=store.group_id, is_active=True,
        ).exists():
            raise ValidationFailed("voucher_template_unknown", _("Choose the voucher template."), "voucher_template_id")
    if len(text or "") > 300:
        raise ValidationFailed("text_too_long", _("The text is at most 300 characters."), "text")
    with transaction.atomic():
        Playbook.objects.select_for_update().get(pk=playbook.pk)
        seq = (playbook.steps.aggregate(m=Max("seq"))["m"] or 0) + 1
        step = PlaybookStep.objects.create(
            playbook=playbook, seq=seq, kind=kind, message_kind=message_kind if kind == StepKind.MESSAGE else "",
            channel=channel or "", text=(text or "").strip(), wait_days=int(wait_days or 0) if kind == StepKind.WAIT else 0,
            call_target=call_target if kind == StepKind.CALL else "", voucher_template_id=voucher_template_id,
        )
        audit.record(actor=actor, obj=playbook, action="playbook.step_added", store_id=playbook.store_id,
                     changes={"step": [None, f"{seq}:{kind}"]})
    return step


def playbook_step_delete(*, actor: Any, step: PlaybookStep) -> None:
    """Remove a step; the steps after it move up (enrolments keep their position index)."""
    require(actor, "care.change_playbook")
    require_store(actor, step.playbook.store_id)
    with transaction.atomic():
        playbook = Playbook.objects.select_for_update().get(pk=step.playbook_id)
        step.delete()
        for i, s in enumerate(playbook.steps.order_by("seq"), start=1):
            if s.seq != i:
                PlaybookStep.objects.filter(pk=s.pk).update(seq=i)
        audit.record(actor=actor, obj=playbook, action="playbook.step_deleted", store_id=playbook.store_id)


def playbook_activate(*, actor: Any, playbook: Playbook, now: dt.datetime | None = None) -> Playbook:
    require(actor, "care.change_playbook")
    require_store(actor, playbook.store_id)
    with transaction.atomic():
        locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
        playbook_check(locked)
        if not locked.is_active:
            locked.is_active = True
            locked.save(update_fields=["is_active"])
            audit.record(actor=actor, obj=locked, action="playbook.activated", store_id=locked.store_id)
            if locked.trigger == TriggerKind.INACTIVITY or (locked.trigger == TriggerKind.TIER_ENTERED and engagement_available()):
                # back-enrol the customers already in the tier (already lapsed), now rather than at the next tick
                playbook_enrol(locked, now=now)
    return locked


def playbook_deactivate(*, actor: Any, playbook: Playbook) -> Playbook:
    """Switch a playbook off: no new enrolments and no further steps (enrolments pause where they are)."""
    require(actor, "care.change_playbook")
    require_store(actor, playbook.store_id)
    with transaction.atomic():
        locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
        if locked.is_active:
            locked.is_active = False
            locked.save(update_fields=["is_active"])
            audit.record(actor=actor, obj=locked, action="playbook.deactivated", store_id=locked.store_id)
    return locked


# ---- enrolment -----------------------------------------------------------------------------------------------------
def _store_customers(store: Any) -> Any:
    from aftersales.customers.selectors import store_customers

    return store_customers([store.pk])  # one definition with the tier report and the segments


def _candidates(playbook: Playbook, now: dt.datetime) -> list[tuple[int, int | None, str]]:
    """(customer id, vehicle id, trigger key) of everyone the trigger fires for now. Set-based queries."""
    from aftersales.vehicles.models import Vehicle

    store = playbook.store
    today = timezone.localtime(now, store.zone).date()
    lo, hi = today - dt.timedelta(days=CATCH_UP_DAYS), today
    off = dt.timedelta(days=playbook.offset_days)
    trigger = playbook.trigger
    if trigger == TriggerKind.DATE_EVENT:
        event = playbook.date_event
        if event == DateEvent.BIRTHDAY:
            days = [lo + dt.timedelta(days=i) - off for i in range((hi - lo).days + 1)]
            cond = Q()
            for day in days:
                cond |= Q(birthday__month=day.month, birthday__day=day.day)
            rows = _store_customers(store).filter(birthday__isnull=False).filter(cond).values_list("id", "birthday")
            out = []
            for cid, birthday in rows:
                year = next((d.year for d in days if (d.month, d.day) == (birthday.month, birthday.day)), today.year)
                out.append((cid, None, f"birthday:{year}"))
            return out
        if event == DateEvent.FIRST_SERVICE:
            return _first_service_candidates(store, lo - off, hi - off)
        field = {DateEvent.PURCHASE: "purchase_date", DateEvent.INSURANCE_EXPIRY: "insurance_expiry",
                 DateEvent.WARRANTY_END: "warranty_end"}[DateEvent(event)]
        vehicles = Vehicle.objects.filter(
            Q(selling_store=store) | Q(selling_store__isnull=True, owner__home_store=store),
            group_id=store.group_id, owner__isnull=False, owner__anonymised_at__isnull=True,
            **{f"{field}__gte": lo - off, f"{field}__lte": hi - off},
        ).values_list("owner_id", "id", field)
        return [(cid, vid, f"{event}:v{vid}:{day.isoformat()}") for cid, vid, day in vehicles]
    if trigger == TriggerKind.INACTIVITY:
        # everyone whose last visit (here, or imported from the store's previous system) is at least the playbook's
        # days ago: those already lapsed when it is switched on too; once per episode (the last visit names it, so a
        # customer who comes back and lapses again is enrolled again)
        from aftersales.workshop.models import RepairOrder

        days = dt.timedelta(days=int(playbook.inactivity_days or 0))
        cutoff = hi - days  # the last visit on or before this day
        end = dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time(0), tzinfo=store.zone)
        last_order = Subquery(
            RepairOrder.objects.filter(customer_id=OuterRef("pk"), status__in=VISIT_STATUSES).order_by()
            .values("customer_id").annotate(at=Max("opened_at")).values("at")[:1]
        )
        qs = _store_customers(store).annotate(last_order=last_order)
        if engagement_available():
            from aftersales.engagement.models import ImportedVisit

            last_imported = Subquery(
                ImportedVisit.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
                .annotate(day=Max("visit_date")).values("day")[:1]
            )
            qs = qs.annotate(last_imported=last_imported).filter(
                Q(last_order__isnull=False) | Q(last_imported__isnull=False),
                Q(last_order__isnull=True) | Q(last_order__lt=end),
                Q(last_imported__isnull=True) | Q(last_imported__lte=cutoff),
            )
            rows = list(qs.values_list("id", "last_order", "last_imported"))
        else:
            rows = [(cid, at, None) for cid, at in qs.filter(last_order__lt=end).values_list("id", "last_order")]
        out = []
        for cid, at, day in rows:
            last = max(d for d in (timezone.localtime(at, store.zone).date() if at else None, day) if d is not None)
            out.append((cid, None, f"inactive:{last.isoformat()}"))
        return out
    if trigger == TriggerKind.TIER_ENTERED:
        from aftersales.engagement.models import CustomerTier

        # everyone in the tier now, once per episode (the day they entered it): those already in it when the playbook
        # is switched on are enrolled too, and a customer who leaves the tier and comes back is enrolled again
        rows = (
            CustomerTier.objects.filter(tier=playbook.tier, since__lte=hi, customer__home_store=store,
                                        customer__anonymised_at__isnull=True)
            .values_list("customer_id", "since")
        )
        return [(cid, None, f"tier:{playbook.tier}:{day.isoformat()}") for cid, day in rows]
    if trigger == TriggerKind.SEGMENT:
        from aftersales.engagement.models import Segment
        from aftersales.engagement.selectors import segment_customers

        segment = Segment.objects.filter(pk=playbook.segment_id).first()
        if segment is None:
            return []
        ids = segment_customers(segment).filter(home_store=store).values_list("id", flat=True)
        return [(cid, None, f"segment:{playbook.segment_id}") for cid in ids]
    if trigger == TriggerKind.SCHEDULED:
        if playbook.launched_at is not None or playbook.starts_at is None or playbook.starts_at > now:
            return []
        if playbook.segment_id and engagement_available():
            from aftersales.engagement.models import Segment
            from aftersales.engagement.selectors import segment_customers

            segment = Segment.objects.filter(pk=playbook.segment_id).first()
            qs = segment_customers(segment).filter(home_store=store) if segment else _store_customers(store).none()
        else:
            qs = _store_customers(store)
        if playbook.audience_make:
            qs = qs.filter(vehicles__make=playbook.audience_make)
        return [(cid, None, "campaign") for cid in qs.values_list("id", flat=True).distinct()]
    return []


def playbook_enrol(playbook: Playbook, *, now: dt.datetime | None = None) -> int:
    """Enrol everyone the playbook's trigger fires for (idempotent: one enrolment per customer and trigger key)."""
    now = now or timezone.now()
    candidates = _candidates(playbook, now)
    if playbook.trigger == TriggerKind.SCHEDULED and playbook.launched_at is None and playbook.starts_at and playbook.starts_at <= now:
        Playbook.objects.filter(pk=playbook.pk, launched_at__isnull=True).update(launched_at=now)
    if not candidates:
        return 0
    before = Enrolment.objects.filter(playbook=playbook).count()
    rows = [
        Enrolment(
            playbook=playbook, customer_id=cid, store_id=playbook.store_id, vehicle_id=vid, trigger_key=key[:80],
            is_holdout=is_holdout(playbook.pk, cid, playbook.holdout_percent),
            status=EnrolmentStatus.HOLDOUT if is_holdout(playbook.pk, cid, playbook.holdout_percent) else EnrolmentStatus.ACTIVE,
            next_run_at=now, enrolled_at=now,
        )
        for cid, vid, key in candidates
    ]
    Enrolment.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return Enrolment.objects.filter(playbook=playbook).count() - before


def playbooks_enrol(*, now: dt.datetime | None = None, store_ids: list[int] | None = None) -> int:
    now = now or timezone.now()
    qs = Playbook.objects.filter(is_active=True).select_related("store")
    if store_ids is not None:
        qs = qs.filter(store_id__in=store_ids)
    total = 0
    for playbook in qs:
        if playbook.trigger in ENGAGEMENT_TRIGGERS and not engagement_available():
            continue
        total += playbook_enrol(playbook, now=now)
    return total


def _first_service_candidates(store: Any, first: dt.date, last: dt.date) -> list[tuple[int, int | None, str]]:
    """The store's cars whose first maintenance visit (delivered or closed) was between ``first`` and ``last`` (local
    days): playbook C follows the first service, whenever it happens (SPEC §10 C: the welcome gift after it)."""
    from aftersales.vehicles.models import Vehicle
    from aftersales.workshop.models import RepairOrder

    first_visit = Subquery(
        RepairOrder.objects.filter(vehicle_id=OuterRef("pk"), status__in=VISIT_STATUSES, jobs__job_type="maintenance")
        .order_by().values("vehicle_id").annotate(at=Min("opened_at")).values("at")[:1]
    )
    start = dt.datetime.combine(first, dt.time(0), tzinfo=store.zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=store.zone)
    rows = (
        Vehicle.objects.filter(Q(selling_store=store) | Q(selling_store__isnull=True, owner__home_store=store),
                               group_id=store.group_id, owner__isnull=False, owner__anonymised_at__isnull=True)
        .annotate(first_visit=first_visit).filter(first_visit__gte=start, first_visit__lt=end)
        .values_list("owner_id", "id")
    )
    return [(cid, vid, f"first_service:v{vid}") for cid, vid in rows]


# ---- advancing -----------------------------------------------------------------------------------------------------
def _stop_reason(enrolment: Enrolment, playbook: Playbook) -> str:
    from aftersales.customers.models import Consent

    since = enrolment.enrolled_at
    customer_id = enrolment.customer_id
    if playbook.stop_on_visited:
        from aftersales.workshop.models import RepairOrder

        if RepairOrder.objects.filter(customer_id=customer_id, opened_at__gte=since).exclude(status="cancelled").exists():
            return StopReason.VISITED
    if playbook.stop_on_booked:
        from aftersales.appointments.models import Appointment

        if Appointment.objects.filter(customer_id=customer_id, created_at__gte=since).exists():
            return StopReason.BOOKED
    if playbook.stop_on_opt_out and Consent.objects.filter(
        customer_id=customer_id, purpose="marketing", granted=False, at__gte=since
    ).exists():
        return StopReason.OPTED_OUT
    return ""


def _vehicle_for(enrolment: Enrolment) -> Any:
    from aftersales.vehicles.models import Vehicle

    if enrolment.vehicle_id:
        return enrolment.vehicle
    return Vehicle.objects.filter(owner_id=enrolment.customer_id).order_by("-purchase_date", "-id").first()


def _recommendation(km: int) -> Any:
    """The mileage item the car has just reached (within a quarter interval past a multiple of it), or "": a car that
    has done 183 km is recommended nothing."""
    for every, text in RECOMMENDATIONS:
        if km >= every and km % every < 5000 + every // 4:
            return text
    return ""


def recommendation_for(vehicle: Any, *, today: dt.date, language: str) -> Any:
    """What playbook B recommends for this car (SPEC §10 B), the first that applies, or "" (no message is sent):

    1. work found on the car and declined in the last year, not done since (the fault history);
    2. the service its maintenance plan has due within 30 days or 1,000 km, or overdue (the care table);
    3. the mileage item the car has just reached (``RECOMMENDATIONS``).
    """
    from aftersales.common.text import localized_name
    from aftersales.workshop.models import RepairJob

    if vehicle is None:
        return ""
    since = dt.datetime.combine(today - dt.timedelta(days=365), dt.time(0), tzinfo=dt.UTC)
    declined = (RepairJob.objects.filter(order__vehicle=vehicle, status="declined", order__opened_at__gte=since)
                .select_related("order").order_by("-order__opened_at", "-id"))
    for job in declined[:10]:
        done_since = RepairJob.objects.filter(order__vehicle=vehicle, title=job.title,
                                              order__opened_at__gt=job.order.opened_at).exclude(
            status__in=("declined", "proposed")).exists()
        if not done_since:
            return localized_name(job.title, language)
    from .models import VehicleDue

    due = VehicleDue.objects.filter(vehicle_id=vehicle.pk).first()
    km = int(vehicle.current_mileage or 0)
    if due is not None:
        for day, at_km, text in (
            (due.fs_due, due.fs_km, pgettext_lazy("recommended work", "the first service")),
            (due.mt_due, due.mt_km, pgettext_lazy("recommended work", "the scheduled maintenance")),
        ):
            if (day and day <= today + dt.timedelta(days=30)) or (at_km and km >= int(at_km) - 1000):
                return text
    return _recommendation(km)


def _message_variables(kind: str, enrolment: Enrolment, step: PlaybookStep) -> dict[str, Any]:
    from aftersales.common.text import localized_name
    from aftersales.messaging.services import customer_variables, recipient_language

    from .services import booking_link

    customer, store = enrolment.customer, enrolment.store
    vehicle = _vehicle_for(enrolment)
    out: dict[str, Any] = {**customer_variables(customer=customer, store=store),
                           "link": booking_link(store, vehicle, recipient_language(customer=customer))}
    text = localized_name(step.text, recipient_language(customer=customer))  # "中文 / English": the customer's part
    if kind in ("care.recommendation", "care.call"):
        out["model"] = f"{vehicle.make} {vehicle.model}".strip() if vehicle else ""
        out["plate"] = (vehicle.plate or out["model"]) if vehicle else ""  # the customer knows the car by its plate, never its VIN
    if kind == "care.recommendation":
        km = int(vehicle.current_mileage) if vehicle else 0
        out["km"] = f"{km:,}"
        today = timezone.localtime(timezone.now(), store.zone).date()
        out["recommendation"] = text or recommendation_for(vehicle, today=today,
                                                           language=recipient_language(customer=customer))
    elif kind == "care.call":
        out["reason"] = text
        out.pop("link")
    else:
        out["offer"] = text
    return out


def _run_step(enrolment: Enrolment, step: PlaybookStep, now: dt.datetime) -> None:
    from aftersales.messaging.choices import Channel
    from aftersales.messaging.services import message_enqueue

    if EnrolmentAction.objects.filter(enrolment=enrolment, seq=step.seq).exists():
        return  # done in an earlier run that crashed after it
    action = EnrolmentAction(enrolment=enrolment, seq=step.seq, kind=step.kind, at=now)
    key = f"playbook:{enrolment.pk}:{step.seq}"
    variables = _message_variables(step.message_kind, enrolment, step) if step.kind == StepKind.MESSAGE else {}
    if step.kind == StepKind.MESSAGE and step.message_kind == "care.recommendation" and not variables["recommendation"]:
        action.note = "nothing to recommend"  # no plan item, declined work or mileage item due: no message at all
    elif step.kind == StepKind.MESSAGE:
        action.message = message_enqueue(
            kind=step.message_kind, store=enrolment.store, customer=enrolment.customer, channel=step.channel or None,
            variables=variables, dedup_key=key,
        )
    elif step.kind == StepKind.CALL:
        action.message = message_enqueue(
            kind="care.call", store=enrolment.store, customer=enrolment.customer, channel=Channel.PHONE,
            variables=_message_variables("care.call", enrolment, step), dedup_key=key,
        )
        advisor = enrolment.customer.preferred_advisor
        if step.call_target == CallTarget.ADVISOR and advisor is not None:
            message_enqueue(
                kind="staff.task", store=enrolment.store, staff_user=advisor, channel=Channel.APP,
                variables={**customer_variables_for_staff(enrolment), "title": _call_title(advisor, enrolment.customer.name),
                           "details": _in_language(step.text, advisor)},
                dedup_key=f"{key}:advisor",
            )
            action.note = f"advisor {advisor.pk}"
    elif step.kind == StepKind.VOUCHER:
        from aftersales.loyalty.models import VoucherTemplate
        from aftersales.loyalty.services import voucher_issue

        template = VoucherTemplate.objects.get(pk=step.voucher_template_id)
        try:
            with transaction.atomic():
                voucher = voucher_issue(actor=None, customer=enrolment.customer, store=enrolment.store, template=template,
                                        reason=coded(gettext_noop("Playbook “%(name)s”"), name=enrolment.playbook.name))
            action.voucher_id = voucher.pk
        except DomainError as exc:  # e.g. the template's per-customer limit: the flow goes on without this voucher
            action.note = f"voucher refused: {exc.code}"[:300]
    action.save()
    if enrolment.contacted_at is None and action.message is not None and action.message.status not in NOT_REACHED:
        enrolment.contacted_at = now  # a message left for the customer (or a call task put to a person), not one held back


def _in_language(text: str, staff_user: Any) -> str:
    """A step's text ("中文 / English") in a member of staff's language."""
    from aftersales.common.text import localized_name
    from aftersales.messaging.services import recipient_language

    return localized_name(text, recipient_language(staff_user=staff_user))


def _call_title(advisor: Any, name: str) -> str:
    """"Call 梁伟" in the advisor's language (whoever runs the playbook tick)."""
    with override(getattr(advisor, "language", "") or "zh-hans"):
        return _("Call %(name)s") % {"name": name}


def customer_variables_for_staff(enrolment: Enrolment) -> dict[str, Any]:
    from aftersales.messaging.services import customer_variables

    return customer_variables(customer=enrolment.customer, store=enrolment.store)


def _finish(enrolment: Enrolment, to: str, reason: str, now: dt.datetime) -> None:
    move(enrolment, to=to, actor=None, transitions=ENROLMENT_TRANSITIONS, event_model=EnrolmentEvent, event_fk="enrolment",
         reason=reason, labels=EnrolmentStatus)
    enrolment.finished_at = now
    enrolment.stop_reason = reason if to == EnrolmentStatus.STOPPED else ""
    enrolment.next_run_at = None


def enrolment_advance(enrolment_id: int, *, now: dt.datetime | None = None) -> Enrolment | None:
    """Run the enrolment's due steps (until a wait or the end), after checking the stop conditions. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update(of=("self",)).select_related("playbook", "customer", "store", "vehicle")
            .filter(pk=enrolment_id, status=EnrolmentStatus.ACTIVE, next_run_at__lte=now).first()
        )
        if enrolment is None or not enrolment.playbook.is_active:
            return None
        playbook = enrolment.playbook
        reason = _stop_reason(enrolment, playbook)
        if reason:
            _finish(enrolment, EnrolmentStatus.STOPPED, reason, now)
            enrolment.save()
            return enrolment
        steps = list(playbook.steps.order_by("seq"))
        while enrolment.step_index < len(steps):
            step = steps[enrolment.step_index]
            if step.kind == StepKind.WAIT:
                waited = EnrolmentAction.objects.filter(enrolment=enrolment, seq=step.seq).first()
                if waited is None:
                    EnrolmentAction.objects.create(enrolment=enrolment, seq=step.seq, kind=step.kind, at=now,
                                                   note=f"{step.wait_days}d")
                    enrolment.next_run_at = now + dt.timedelta(days=step.wait_days)
                    enrolment.save()
                    return enrolment
                if waited.at + dt.timedelta(days=step.wait_days) > now:
                    enrolment.next_run_at = waited.at + dt.timedelta(days=step.wait_days)
                    enrolment.save()
                    return enrolment
            else:
                _run_step(enrolment, step, now)
            enrolment.step_index += 1
        _finish(enrolment, EnrolmentStatus.COMPLETED, "", now)
        enrolment.save()
        return enrolment


def playbooks_advance(*, now: dt.datetime | None = None, limit: int = ADVANCE_BATCH,
                      store_ids: list[int] | None = None) -> int:
    """Advance every due enrolment of an active playbook (a periodic task calls this; safe to run twice)."""
    now = now or timezone.now()
    due = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE, next_run_at__lte=now, playbook__is_active=True)
    if store_ids is not None:
        due = due.filter(store_id__in=store_ids)
    ids = list(due.order_by("next_run_at", "id").values_list("id", flat=True)[:limit])
    done = 0
    for pk in ids:
        try:
            if enrolment_advance(pk, now=now) is not None:
                done += 1
        except IntegrityError:  # another worker did this step at the same moment: its run counts
            continue
    return done


def playbooks_tick(*, now: dt.datetime | None = None) -> tuple[int, int]:
    now = now or timezone.now()
    ensure_default_playbooks()
    return playbooks_enrol(now=now), playbooks_advance(now=now)


# ---- results -------------------------------------------------------------------------------------------------------
#: message states that mean the customer was not reached (held back for lack of consent, failed, withdrawn)
NOT_REACHED = ("suppressed", "failed", "cancelled")


def _reachable_customers(customer_ids: set[int]) -> set[int]:
    """Customers whose latest marketing consent on some channel grants it: the ones a playbook's messages can reach."""
    from aftersales.customers.models import Consent

    latest: dict[tuple[int, str], bool] = {}
    rows = (Consent.objects.filter(customer_id__in=customer_ids, purpose="marketing")
            .order_by("-at", "-id").values_list("customer_id", "channel", "granted"))
    for customer_id, channel, granted in rows:
        latest.setdefault((customer_id, channel), granted)
    return {customer_id for (customer_id, _channel), granted in latest.items() if granted}


def _rate_difference(a: int, n_a: int, b: int, n_b: int) -> tuple[float | None, float | None, float | None]:
    """The difference of two proportions a/n_a − b/n_b with its 95 % confidence interval (normal approximation,
    Wald); None where a group is empty."""
    import math

    if not n_a or not n_b:
        return None, None, None
    p_a, p_b = a / n_a, b / n_b
    diff = p_a - p_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return diff, diff - 1.96 * se, diff + 1.96 * se


def playbook_results(playbook: Playbook) -> dict[str, Any]:
    """Contacted, booked, visited, revenue for the contacted group and the hold-out, and the uplift.

    A result counts when it happens within ``measure_days`` (default 90) after the enrolment. "Contacted" means a
    message was left (not held back for lack of consent, not failed) or a call task was put to a person. The uplift
    compares like with like: the customers of each group that the playbook's messages could reach (a marketing
    consent on some channel), the same filter on both sides; it comes with both group sizes and a 95 % confidence
    interval. Set-based: a few queries per playbook.
    """
    from aftersales.appointments.models import Appointment
    from aftersales.workshop.models import RepairOrder

    window = dt.timedelta(days=playbook.measure_days)
    visits = RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"), status__in=VISIT_STATUSES, opened_at__gte=OuterRef("enrolled_at"),
        opened_at__lte=OuterRef("enrolled_at") + window,
    )
    bookings = Appointment.objects.filter(
        customer_id=OuterRef("customer_id"), created_at__gte=OuterRef("enrolled_at"), created_at__lte=OuterRef("enrolled_at") + window,
    )
    base = Enrolment.objects.filter(playbook=playbook).annotate(
        booked=Exists(bookings),
        visited=Exists(visits),
        revenue=Coalesce(Subquery(visits.order_by().values("customer_id").annotate(s=Sum("total")).values("s")[:1]), Decimal("0")),
    )
    reached = set(
        EnrolmentAction.objects.filter(enrolment__playbook=playbook, message__isnull=False)
        .exclude(message__status__in=NOT_REACHED).values_list("enrolment_id", flat=True)
    )
    all_rows = list(base.values_list("pk", "customer_id", "is_holdout", "booked", "visited", "revenue"))
    if playbook.steps.filter(kind=StepKind.CALL).exists():  # a person calls: every enrolled customer can be reached
        reachable = {r[1] for r in all_rows}
    else:
        reachable = _reachable_customers({r[1] for r in all_rows})
    out: dict[str, Any] = {}
    for name, holdout in (("treated", False), ("holdout", True)):
        rows = [r for r in all_rows if r[2] == holdout]
        n = len(rows)
        visited = sum(1 for r in rows if r[4])
        booked = sum(1 for r in rows if r[3])
        eligible = [r for r in rows if r[1] in reachable]
        out[name] = {
            "enrolled": n, "contacted": 0 if holdout else sum(1 for r in rows if r[0] in reached),
            "booked": booked, "visited": visited,
            "revenue": q(sum((Decimal(r[5] or 0) for r in rows), Decimal("0"))),
            "visit_rate": (visited / n) if n else None, "booked_rate": (booked / n) if n else None,
            "eligible": len(eligible), "eligible_visited": sum(1 for r in eligible if r[4]),
        }
        out[name]["eligible_visit_rate"] = (out[name]["eligible_visited"] / len(eligible)) if eligible else None
    t, h = out["treated"], out["holdout"]
    out["uplift"], out["uplift_low"], out["uplift_high"] = _rate_difference(
        t["eligible_visited"], t["eligible"], h["eligible_visited"], h["eligible"])
    for key in ("uplift", "uplift_low", "uplift_high"):  # percentage points, for the pages
        out[f"{key}_pp"] = round(out[key] * 100) if out[key] is not None else None
    contacted_visited = sum(1 for r in all_rows if not r[2] and r[0] in reached and r[4])
    out["win_back_rate"] = (contacted_visited / t["contacted"]) if t["contacted"] else None
    return out


# ---- shipped defaults (SPEC §10 A/B/C/D), created per store, editable by a manager ------------------------------------
DEFAULTS: list[dict[str, Any]] = [
    {"code": "tier-a", "name": coded(gettext_noop("A loyal customers: annual benefits and the owners' club")), "trigger": TriggerKind.TIER_ENTERED, "tier": "A",
     "description": coded(gettext_noop("A dedicated advisor and a priority lane; the annual benefits pack (a free in-depth inspection, a free air-conditioning clean, a courtesy car voucher); invitations to the owners' club events.")),
     "steps": [(StepKind.MESSAGE, "care.club", "年度权益包：免费深度检测、免费空调清洗、代步车券各一次 / Annual benefits: a free in-depth inspection, a free A/C clean and a courtesy car voucher", 0, ""),
               (StepKind.VOUCHER, "ac-clean-free", "", 0, ""),
               (StepKind.WAIT, "", "", 30, ""),
               (StepKind.MESSAGE, "care.club", "车主俱乐部自驾活动，诚邀您参加 / You are invited to the owners' club road trip", 0, "")]},
    {"code": "tier-b", "name": coded(gettext_noop("B promising customers: mileage advice, upgrade offers, seasonal tips")), "trigger": TriggerKind.TIER_ENTERED, "tier": "B",
     "description": coded(gettext_noop("Advice for the car from its mileage and fault history; upgrade offers such as the extended warranty (20% off); seasonal tips.")),
     "steps": [(StepKind.MESSAGE, "care.recommendation", "", 0, ""),
               (StepKind.WAIT, "", "", 14, ""),
               (StepKind.MESSAGE, "campaign.offer", "延保服务八折优惠 / 20% off the extended warranty", 0, ""),
               (StepKind.WAIT, "", "", 45, ""),
               (StepKind.MESSAGE, "campaign.offer", "季节关怀：冬季电瓶免费检测、雨季轮胎免费检查 / Seasonal care: a free battery test in winter, a free tyre check in the rainy season", 0, "")]},
    # C, in two parts: the welcome when a customer becomes new (tier C: everyone new, also those new when it is switched
    # on; without the engagement module: the purchase), and what follows the first service, whenever it is done
    {"code": "tier-c", "name": coded(gettext_noop("C new customers: welcome and the new owners' group")), "trigger": TriggerKind.TIER_ENTERED, "tier": "C",
     "description": coded(gettext_noop("The reminder 3 days before the first service (with the booking link, what to bring and the route) is sent by the daily reminder sweep; this playbook welcomes new customers and invites them to the new owners' group; the welcome gift and the follow-up after the first service are in “C after the first service”.")),
     "steps": [(StepKind.MESSAGE, "care.club", "欢迎加入新车主群，用车问题随时咨询 / Welcome to the new owners' group: ask us anything about your car", 0, "")]},
    # the customers in tier D (no paid visit for the store's D months, imported visits included); without the
    # engagement module: half a year without a visit (``create_default_playbooks``)
    {"code": "tier-d", "name": coded(gettext_noop("D at risk: win-back reminder, advisor's call, return offer")), "trigger": TriggerKind.TIER_ENTERED, "tier": "D",
     "description": coded(gettext_noop("No visit for half a year: a win-back reminder (service overdue, a free tyre check); the service advisor calls to ask why; 30% off labour on return.")),
     "steps": [(StepKind.MESSAGE, "care.recall", "已超过保养周期，免费轮胎检查 / Your service is overdue: free tyre check", 0, ""),
               (StepKind.WAIT, "", "", 3, ""),
               (StepKind.CALL, "", "半年未到店，请致电了解原因 / No visit for half a year: call to ask why", 0, CallTarget.ADVISOR),
               (StepKind.WAIT, "", "", 7, ""),
               (StepKind.VOUCHER, "winback-labour-30", "", 0, ""),
               (StepKind.MESSAGE, "campaign.offer", "回厂工时费七折 / 30% off labour on your next visit", 0, "")]},
    {"code": "first-service", "name": coded(gettext_noop("C after the first service: welcome gift and follow-up")), "trigger": TriggerKind.DATE_EVENT,
     "date_event": DateEvent.FIRST_SERVICE, "offset_days": 0, "stop_on_visited": False,  # the visit is the trigger
     "description": coded(gettext_noop("After the first service: a welcome gift, and 3 days later the call centre asks how the car is and how the service was.")),
     "steps": [(StepKind.MESSAGE, "campaign.offer", "首保欢迎礼：免费精洗一次 / First service welcome gift: a free detailed wash", 0, ""),
               (StepKind.WAIT, "", "", 3, ""),
               (StepKind.CALL, "", "首保回访：了解用车情况与服务满意度 / First service follow-up: how the car is and how the service was", 0, CallTarget.CALL_CENTRE)]},
]


def _voucher_template_id(store: Any, code: str) -> int | None:
    if not loyalty_available():
        return None
    from aftersales.loyalty.models import VoucherTemplate

    return (
        VoucherTemplate.objects.filter(Q(store__isnull=True) | Q(store_id=store.pk), group_id=store.group_id, code=code,
                                       is_active=True).values_list("pk", flat=True).first()
    )


def create_default_playbooks(store: Any) -> list[Playbook]:
    """The shipped A/B/C/D playbooks for a store (idempotent). Those that need a missing module stay inactive."""
    made = []
    with transaction.atomic():
        for spec in DEFAULTS:
            if Playbook.objects.filter(store=store, code=spec["code"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k not in ("code", "steps")}
            if spec["code"] == "tier-d" and not engagement_available():
                fields.update(trigger=TriggerKind.INACTIVITY, tier="", inactivity_days=182)
            if spec["code"] == "tier-c" and not engagement_available():
                fields.update(trigger=TriggerKind.DATE_EVENT, tier="", date_event=DateEvent.PURCHASE, offset_days=0)
            playbook = Playbook.objects.create(store=store, code=spec["code"], **fields)
            seq = 0
            for kind, message_kind, text, wait, target in spec["steps"]:
                template_id = None
                if kind == StepKind.VOUCHER:  # a voucher step when the loyalty app offers that voucher here
                    template_id = _voucher_template_id(store, message_kind)
                    if template_id is None:
                        continue
                    message_kind = ""
                seq += 1
                PlaybookStep.objects.create(playbook=playbook, seq=seq, kind=kind, message_kind=message_kind, text=text,
                                            wait_days=wait, call_target=target, voucher_template_id=template_id)
            try:
                playbook_check(playbook)
                playbook.is_active = True
                playbook.save(update_fields=["is_active"])
            except ValidationFailed:
                pass  # e.g. tier triggers before the engagement module is installed
            made.append(playbook)
    return made


def ensure_default_playbooks() -> int:
    """Give every active store the shipped defaults it lacks (run by the periodic task; a playbook a manager
    changed or switched off is never touched, one shipped later is added)."""
    from aftersales.stores.models import Store

    codes = [spec["code"] for spec in DEFAULTS]
    n = 0
    for store in Store.objects.filter(is_active=True).exclude(
            pk__in=Subquery(Playbook.objects.filter(code__in=codes).values("store_id").annotate(
                n=Count("id")).filter(n=len(codes)).values("store_id"))):
        n += len(create_default_playbooks(store))
    return n
