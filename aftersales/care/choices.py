from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReminderKind(models.TextChoices):
    FIRST_SERVICE = "first_service", _("First service")
    MAINTENANCE = "maintenance", _("Maintenance due")
    INSURANCE = "insurance", _("Insurance expiry")
    INSPECTION = "inspection", _("Annual inspection")
    WARRANTY = "warranty", _("Warranty end")
    BIRTHDAY = "birthday", _("Birthday")
    ANNIVERSARY = "anniversary", _("Purchase anniversary")
    HOLIDAY = "holiday", _("Holiday")
    DECLINED = "declined", _("Declined recommendation")


#: the message kind each reminder sends (aftersales/messaging/kinds.py)
REMINDER_MESSAGE_KIND = {
    ReminderKind.FIRST_SERVICE: "care.first_service",
    ReminderKind.MAINTENANCE: "maintenance.due",
    ReminderKind.INSURANCE: "care.insurance",
    ReminderKind.INSPECTION: "care.inspection",
    ReminderKind.WARRANTY: "care.warranty",
    ReminderKind.BIRTHDAY: "care.birthday",
    ReminderKind.ANNIVERSARY: "care.anniversary",
    ReminderKind.HOLIDAY: "care.holiday",
    ReminderKind.DECLINED: "care.declined",
}


class ReminderStatus(models.TextChoices):
    DUE = "due", pgettext_lazy("reminder status", "To do")
    SENT = "sent", pgettext_lazy("reminder status", "Sent")
    CALLED = "called", pgettext_lazy("reminder status", "Called")
    BOOKED = "booked", pgettext_lazy("reminder status", "Booked")
    DISMISSED = "dismissed", pgettext_lazy("reminder status", "Dismissed")


#: due → sent (the sweep queued the message) / called / booked / dismissed; a person records what came of it.
REMINDER_TRANSITIONS: dict[str, set[str]] = {
    ReminderStatus.DUE: {ReminderStatus.SENT, ReminderStatus.CALLED, ReminderStatus.BOOKED, ReminderStatus.DISMISSED},
    ReminderStatus.SENT: {ReminderStatus.CALLED, ReminderStatus.BOOKED, ReminderStatus.DISMISSED},
    ReminderStatus.CALLED: {ReminderStatus.BOOKED, ReminderStatus.DISMISSED},
    ReminderStatus.BOOKED: set(),
    ReminderStatus.DISMISSED: set(),
}
#: the actions a person records on the care calendar
REMINDER_ACTIONS = (ReminderStatus.CALLED, ReminderStatus.BOOKED, ReminderStatus.DISMISSED)


class TriggerKind(models.TextChoices):
    TIER_ENTERED = "tier_entered", _("Tier entered")
    DATE_EVENT = "date_event", _("Date event")
    INACTIVITY = "inactivity", _("Inactivity")
    SEGMENT = "segment", _("Segment membership")
    SCHEDULED = "scheduled", _("One-off at a scheduled time (campaign)")


#: trigger kinds that need the engagement app (tiers and segments)
ENGAGEMENT_TRIGGERS = (TriggerKind.TIER_ENTERED, TriggerKind.SEGMENT)


class DateEvent(models.TextChoices):
    PURCHASE = "purchase", _("Car purchased")
    BIRTHDAY = "birthday", _("Birthday")
    INSURANCE_EXPIRY = "insurance_expiry", _("Insurance expiry")
    WARRANTY_END = "warranty_end", _("Warranty end")
    FIRST_SERVICE = "first_service", _("First service done")


class StepKind(models.TextChoices):
    MESSAGE = "message", _("Send a message")
    CALL = "call", _("Call task")
    VOUCHER = "voucher", _("Issue a voucher")
    WAIT = "wait", _("Wait")


class CallTarget(models.TextChoices):
    ADVISOR = "advisor", _("The customer's advisor")
    CALL_CENTRE = "call_centre", _("Call centre")


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    STOPPED = "stopped", _("Stopped")
    HOLDOUT = "holdout", _("Hold-out (receives nothing)")


ENROLMENT_TRANSITIONS: dict[str, set[str]] = {
    EnrolmentStatus.ACTIVE: {EnrolmentStatus.COMPLETED, EnrolmentStatus.STOPPED},
    EnrolmentStatus.HOLDOUT: set(),
    EnrolmentStatus.COMPLETED: set(),
    EnrolmentStatus.STOPPED: set(),
}


class StopReason(models.TextChoices):
    BOOKED = "booked", _("Booked an appointment")
    VISITED = "visited", _("Visited")
    OPTED_OUT = "opted_out", _("Opted out")
    DEACTIVATED = "deactivated", _("Playbook switched off")


#: the labels of the message kinds this app added to aftersales/messaging/kinds.py (the same msgids, so that this
#: app's catalogue carries their translations)
MESSAGE_KIND_LABELS = {
    "care.first_service": _("First service reminder"),
    "care.insurance": _("Insurance expiry reminder"),
    "care.inspection": _("Annual inspection reminder"),
    "care.warranty": _("Warranty end reminder"),
    "care.birthday": _("Birthday greeting"),
    "care.anniversary": _("Purchase anniversary"),
    "care.holiday": _("Holiday greeting"),
    "care.declined": _("Declined work reminder"),
    "care.call": _("Call task (playbook)"),
    "care.recall": _("Come-back notice"),
    "care.club": _("Club invitation"),
    "care.recommendation": _("Mileage-based recommendation"),
}


class RunKind(models.TextChoices):
    REMINDERS = "reminders", _("Reminder sweep")
    PLAYBOOKS = "playbooks", _("Playbook run")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


RUN_TRANSITIONS: dict[str, set[str]] = {
    RunStatus.QUEUED: {RunStatus.RUNNING},
    RunStatus.RUNNING: {RunStatus.DONE, RunStatus.FAILED, RunStatus.RUNNING},  # RUNNING again: picked up after a crash
    RunStatus.DONE: set(),
    RunStatus.FAILED: set(),
}
