"""Writes for customer care: the daily reminder sweep, actions on reminders, playbooks and campaigns.

The sweep's due-date computation is set-based SQL (``sweep.py``); messages go through the outbox with a dedup key
naming the reminder, so the sweep is safe to run any number of times. Playbook writes are in ``playbooks.py``
and re-exported here.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from aftersales.common import audit
from aftersales.common.errors import DomainError, ValidationFailed
from aftersales.common.permissions import require, require_store
from aftersales.common.readtime import coded
from aftersales.common.transitions import move

from . import sweep
from .choices import REMINDER_ACTIONS, REMINDER_MESSAGE_KIND, REMINDER_TRANSITIONS, ReminderKind, ReminderStatus
from .models import CareSettings, Reminder, ReminderEvent
from .playbooks import (  # noqa: F401  (re-exported: the playbook services)
    create_default_playbooks,
    playbook_activate,
    playbook_deactivate,
    playbook_results,
    playbook_save,
    playbook_step_add,
    playbook_step_delete,
    playbooks_advance,
    playbooks_enrol,
    playbooks_tick,
)

#: reminders whose messages are queued per transaction by ``reminders_send_pending``
SEND_BATCH = 1000
log = logging.getLogger(__name__)


def booking_link(store: Any, vehicle: Any = None, language: str = "") -> str:
    """The link in reminders: the booking page of the store (the customer portal), with the car pre-selected; for an
    English reader with ``lang=en``, so the sign-in page on the way is English too (Chinese is the default)."""
    base = f"{settings.AFTERSALES_PUBLIC_URL.rstrip('/')}/book/{store.code}/"
    params = ([f"v={vehicle.pk}"] if vehicle is not None else []) + (["lang=en"] if language == "en" else [])
    return f"{base}?{'&'.join(params)}" if params else base


def _materials(store: Any, language: str) -> str:
    """What to bring, as the store's maintenance service type says (the appointments confirmation uses the same)."""
    from aftersales.appointments.models import ServiceType

    kind = ServiceType.objects.filter(store=store, kind="maintenance", is_active=True).exclude(materials_zh="").order_by("id").first()
    if kind is not None:
        return kind.materials_in(language)
    with override(language):
        return _("service book and vehicle registration")


def reminder_variables(reminder: Reminder, care: CareSettings, materials: dict[tuple[int, str], str] | None = None) -> dict[str, Any]:
    from aftersales.messaging.services import customer_variables

    customer, store, vehicle = reminder.customer, reminder.store, reminder.vehicle
    language = getattr(customer, "language", "") or "zh-hans"
    out: dict[str, Any] = {**customer_variables(customer=customer, store=store),
                           "link": booking_link(store, vehicle, language)}
    if vehicle is not None:
        out["model"] = f"{vehicle.make} {vehicle.model}".strip()
        out["plate"] = vehicle.plate or out["model"]  # the customer knows the car by its plate, never its VIN
    kind = reminder.kind
    if kind in (ReminderKind.FIRST_SERVICE, ReminderKind.MAINTENANCE, ReminderKind.INSURANCE, ReminderKind.INSPECTION,
                ReminderKind.WARRANTY):
        out["due_date"] = reminder.due_date.isoformat()
    if kind in (ReminderKind.FIRST_SERVICE, ReminderKind.MAINTENANCE):
        out["due_km"] = f"{reminder.due_km or 0:,}"
    if kind == ReminderKind.FIRST_SERVICE:
        out["directions"] = store.directions or store.address
        cache = materials if materials is not None else {}
        if (store.pk, language) not in cache:
            cache[(store.pk, language)] = _materials(store, language)
        out["materials"] = cache[(store.pk, language)]
    if kind == ReminderKind.WARRANTY:
        out["offer"] = care.warranty_offer
    if kind == ReminderKind.BIRTHDAY:
        out["offer"] = care.birthday_offer
    if kind == ReminderKind.ANNIVERSARY:
        out["offer"] = care.anniversary_offer
        out["years"] = reminder.detail or "1"
    if kind == ReminderKind.HOLIDAY:
        out["offer"] = care.holiday_offer
        out["holiday"] = reminder.detail
    if kind == ReminderKind.DECLINED:
        out["work"] = reminder.detail
    return out


def reminder_dedup_key(reminder: Reminder) -> str:
    who = f"v{reminder.vehicle_id}" if reminder.vehicle_id else f"c{reminder.customer_id}"
    return f"care-reminder:{reminder.kind}:{who}:{reminder.due_date.isoformat()}:{reminder.lead_days}"


def _move(reminder: Reminder, to: str, actor: Any, reason: str = "") -> None:
    move(reminder, to=to, actor=actor, transitions=REMINDER_TRANSITIONS, event_model=ReminderEvent, event_fk="reminder",
         reason=reason, labels=ReminderStatus)


#: reminders that greet rather than say what the car needs: sent only to customers who want every reminder
GREETING_KINDS = (ReminderKind.BIRTHDAY, ReminderKind.ANNIVERSARY, ReminderKind.HOLIDAY)


def reminders_send_pending(*, since: dt.date, limit: int | None = None) -> int:
    """Queue the message of every reminder that has none yet (remind_on ≥ ``since``), ``SEND_BATCH`` reminders per
    transaction through ``message_enqueue_many`` (a few queries per batch): the messages, each reminder's link to its
    message and its "sent" state (unless the message is suppressed or failed) commit together, and the dedup key
    makes a rerun a no-op. A reminder whose message is refused (e.g. a template missing a variable) is logged and
    left for the next run without sinking its batch; one that another worker holds is skipped."""
    from aftersales.common.bulk import update_rows
    from aftersales.messaging.choices import MessageStatus, Purpose
    from aftersales.messaging.kinds import KINDS
    from aftersales.messaging.services import OutgoingMessage, after_quiet_hours, message_enqueue_many

    sent = 0
    cares: dict[int, CareSettings] = {}
    materials: dict[tuple[int, str], str] = {}
    after = 0  # every reminder up to this id has been handled in this run (queued, refused or held elsewhere)
    while limit is None or sent < limit:
        size = SEND_BATCH if limit is None else min(SEND_BATCH, limit - sent)
        batch = list(
            Reminder.objects.filter(message__isnull=True, status=ReminderStatus.DUE, remind_on__gte=since, pk__gt=after)
            .select_related("store", "customer", "vehicle").order_by("id")[:size]
        )
        if not batch:
            break
        after = batch[-1].pk
        with transaction.atomic():
            locked = set(
                Reminder.objects.select_for_update(skip_locked=connection.features.has_select_for_update_skip_locked)
                .filter(pk__in=[r.pk for r in batch], message__isnull=True, status=ReminderStatus.DUE)
                .values_list("pk", flat=True)
            )
            todo: list[Reminder] = []
            dismissed: list[Reminder] = []
            items: list[OutgoingMessage] = []
            now = timezone.now()
            consents = _latest_consents({r.customer_id for r in batch if r.pk in locked})
            quiet: dict[int, dt.datetime] = {}  # per store: now, or the end of its quiet hours
            for reminder in batch:
                if reminder.pk not in locked:
                    continue  # another worker has it (or a person acted on it meanwhile)
                wants = getattr(reminder.customer, "reminder_frequency", "all")  # the customer's own choice
                if wants != "all" and reminder.kind in GREETING_KINDS:
                    dismissed.append(reminder)  # no greetings wanted: dismissed, with the reason, never sent
                    continue
                if wants == "none":
                    continue  # no reminder messages wanted: left on the care calendar (the store may call)
                kind = REMINDER_MESSAGE_KIND[ReminderKind(reminder.kind)]
                service = KINDS[kind].purpose == Purpose.SERVICE
                channel = reminder.customer.preferred_channel
                if service and consents.get((reminder.customer_id, "service", channel)) is False:
                    continue  # the customer withdrew service messages on that channel: left to the calendar (a call)
                care = cares.get(reminder.store_id)
                if care is None:
                    care, _created = CareSettings.objects.get_or_create(store=reminder.store)
                    cares[reminder.store_id] = care
                variables = reminder_variables(reminder, care, materials)
                if service and "offer" in variables and not consents.get((reminder.customer_id, "marketing", channel)):
                    variables["offer"] = ""  # the offer is marketing: dropped without consent, the reminder itself is not
                if service and reminder.store_id not in quiet:
                    quiet[reminder.store_id] = after_quiet_hours(now, reminder.store)
                todo.append(reminder)
                items.append(OutgoingMessage(
                    kind=kind, store=reminder.store, customer=reminder.customer, variables=variables,
                    dedup_key=reminder_dedup_key(reminder),
                    # a service reminder is not urgent: it waits out the store's quiet hours too (marketing always does)
                    not_before=quiet[reminder.store_id] if service else None,
                ))
            linked: list[Reminder] = []
            events: list[ReminderEvent] = []
            for reminder, message in zip(todo, message_enqueue_many(items=items, skip_invalid=True), strict=True):
                if isinstance(message, DomainError):
                    log.error("reminder %s: message not queued: %s (%s)", reminder.pk, message.message, message.code)
                    continue
                reminder.message = message
                linked.append(reminder)
                if message.status not in (MessageStatus.SUPPRESSED, MessageStatus.FAILED, MessageStatus.CANCELLED):
                    # DUE → SENT (the lock above re-read DUE), as ``_move`` would, with its event row
                    events.append(ReminderEvent(reminder=reminder, from_state=ReminderStatus.DUE, to_state=ReminderStatus.SENT,
                                                reason=coded(gettext_noop("Message queued by the daily sweep")), at=now))
                    reminder.status = ReminderStatus.SENT
            for reminder in dismissed:
                events.append(ReminderEvent(reminder=reminder, from_state=ReminderStatus.DUE,
                                            to_state=ReminderStatus.DISMISSED,
                                            reason=_("The customer asked for no greetings"), at=now))
                reminder.status = ReminderStatus.DISMISSED
            update_rows(Reminder, ["message", "status"], [(r.pk, r.message_id, r.status) for r in [*linked, *dismissed]])
            ReminderEvent.objects.bulk_create(events)
        sent += len(linked)
    return sent


def _latest_consents(customer_ids: set[int]) -> dict[tuple[int, str, str], bool]:
    """(customer id, purpose, channel) → the latest consent record's answer (absent: never recorded)."""
    from aftersales.customers.models import Consent

    out: dict[tuple[int, str, str], bool] = {}
    if not customer_ids:
        return out
    rows = Consent.objects.filter(customer_id__in=customer_ids).order_by("-at", "-id").values_list(
        "customer_id", "purpose", "channel", "granted")
    for customer_id, purpose, channel, granted in rows:
        out.setdefault((customer_id, purpose, channel), granted)
    return out


def reminder_sweep(*, today: dt.date | None = None, store_ids: list[int] | None = None, send: bool = True,
                   full: bool = False) -> sweep.SweepResult:
    """The daily sweep over every vehicle of the (active) stores: bring the due dates up to date set-based (only the
    vehicles that changed, unless ``full`` or the plans changed), write the reminders that fall due today (unique
    rows), then queue their messages. Idempotent: a second run writes nothing."""
    import zoneinfo

    result = sweep.SweepResult(today=today or timezone.localdate())
    t0 = time.perf_counter()
    with transaction.atomic():
        refreshed = sweep.refresh_due(today=result.today, full=full)
    result.vehicles, result.rebuilt = refreshed.vehicles, refreshed.rebuilt
    result.timings["due table"] += time.perf_counter() - t0
    for zone_name, ids in sweep.zones(store_ids).items():
        zone = zoneinfo.ZoneInfo(zone_name)
        local_today = today or timezone.localtime(timezone.now(), zone).date()
        result.today = local_today
        with transaction.atomic():
            sweep.insert_reminders(ids, local_today, zone, result)
    result.seconds_compute = time.perf_counter() - t0
    if send:
        t1 = time.perf_counter()
        result.messages = reminders_send_pending(since=result.today - dt.timedelta(days=sweep.GRACE_DAYS))
        result.seconds_messages = time.perf_counter() - t1
    return result


def reminder_record_action(*, actor: Any, reminder: Reminder, action: str, note: str = "") -> Reminder:
    """A person records what was done about a reminder: called, booked or dismissed."""
    require(actor, "care.change_reminder")
    require_store(actor, reminder.store_id)
    if action not in REMINDER_ACTIONS:
        raise ValidationFailed("invalid_choice", _("“%(v)s” is not a valid choice.") % {"v": action}, "action")
    note = (note or "").strip()
    if len(note) > 300:
        raise ValidationFailed("note_too_long", _("The note is at most 300 characters."), "note")
    with transaction.atomic():
        locked = Reminder.objects.select_for_update().get(pk=reminder.pk)
        before = locked.status
        _move(locked, action, actor, note)
        locked.action_at = timezone.now()
        locked.action_by = actor
        locked.save(update_fields=["action_at", "action_by"])
        audit.record(actor=actor, obj=locked, action=f"care_reminder.{action}", store_id=locked.store_id,
                     customer_id=locked.customer_id, changes={"status": [before, action]}, reason=note)
    return locked


def care_settings_update(*, actor: Any, store: Any, data: dict[str, Any]) -> CareSettings:
    """A manager changes the store's reminder settings (leads, offers, assumed daily distance)."""
    require(actor, "care.change_caresettings")
    require_store(actor, store.pk)
    fields = [f.name for f in CareSettings._meta.get_fields() if f.name not in ("id", "store")]
    with transaction.atomic():
        row, _created = CareSettings.objects.get_or_create(store=store)
        row, changes = audit.update_locked(CareSettings, row.pk, {k: v for k, v in data.items() if k in fields}, fields)
        if not row.insurance_offsets() or any(not x.strip().isdigit() for x in row.insurance_lead_days.replace("，", ",").split(",")):
            raise ValidationFailed("invalid_leads", _("Enter days as numbers separated by commas, e.g. 30,7."), "insurance_lead_days")
        audit.record(actor=actor, obj=row, action="care_settings.saved", store_id=store.pk, changes=changes)
    return row
