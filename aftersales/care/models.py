"""Reminders and the care calendar (SPEC §11); playbooks and campaigns with their enrolments (SPEC §10)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField, ReadTimeTextField

from .choices import (
    CallTarget,
    DateEvent,
    EnrolmentStatus,
    ReminderKind,
    ReminderStatus,
    RunKind,
    RunStatus,
    StepKind,
    TriggerKind,
)


class MaintenancePlan(models.Model):
    """Service intervals for a make/model (or a store's / the group's default when make and model are empty).

    The most specific plan wins: make + model, then make, then the store's default, then the group's default.
    """

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="maintenance_plans")
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="maintenance_plans",
        help_text=_("Empty: for every store of the group."),
    )
    make = models.CharField(_("make"), max_length=40, blank=True)
    model = models.CharField(_("model"), max_length=60, blank=True)
    first_service_months = models.PositiveSmallIntegerField(_("first service after (months)"), default=3)
    first_service_km = models.PositiveIntegerField(_("first service after (km)"), default=5000)
    interval_months = models.PositiveSmallIntegerField(_("service interval (months)"), default=6)
    interval_km = models.PositiveIntegerField(_("service interval (km)"), default=10000)

    class Meta:
        verbose_name = _("maintenance plan")
        verbose_name_plural = _("maintenance plans")
        ordering = ["group_id", "make", "model"]
        constraints = [
            models.UniqueConstraint(fields=["group", "store", "make", "model"], name="care_plan_unique"),
            models.CheckConstraint(condition=models.Q(first_service_months__gte=1) & models.Q(interval_months__gte=1)
                                   & models.Q(first_service_km__gte=100) & models.Q(interval_km__gte=100),
                                   name="care_plan_positive"),
        ]

    def __str__(self) -> str:
        return " ".join(x for x in (self.make, self.model) if x) or str(_("default plan"))


class CareSettings(models.Model):
    """A store's reminder settings (defaults as in SPEC §11)."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, related_name="care_settings")
    default_daily_km = models.PositiveSmallIntegerField(
        _("assumed daily distance (km)"), default=40, help_text=_("Used when a vehicle has fewer than two mileage readings.")
    )
    first_service_lead_days = models.PositiveSmallIntegerField(_("first service: days before"), default=3)
    maintenance_lead_days = models.PositiveSmallIntegerField(_("maintenance: days before"), default=7)
    insurance_lead_days = models.CharField(_("insurance expiry: days before"), max_length=40, default="30,7")
    inspection_lead_days = models.PositiveSmallIntegerField(_("annual inspection: days before"), default=30)
    warranty_lead_days = models.PositiveSmallIntegerField(_("warranty end: days before"), default=30)
    holiday_lead_days = models.PositiveSmallIntegerField(_("holiday: days before"), default=3)
    declined_delay_days = models.PositiveSmallIntegerField(_("declined work: remind after (days)"), default=30)
    birthday_offer = models.CharField(_("birthday-month offer"), max_length=200, default="生日当月免费内饰清洁一次")
    anniversary_offer = models.CharField(_("anniversary offer"), max_length=200, default="购车周年免费全车检测一次")
    holiday_offer = models.CharField(_("holiday offer"), max_length=200, default="节前免费出行安全检查")
    warranty_offer = models.CharField(_("warranty-end offer"), max_length=200, default="延保服务八折")

    class Meta:
        verbose_name = _("care settings")
        verbose_name_plural = _("care settings")

    def __str__(self) -> str:
        return str(self.store)

    def insurance_offsets(self) -> list[int]:
        out = sorted({int(x) for x in self.insurance_lead_days.replace("，", ",").split(",") if x.strip().isdigit()}, reverse=True)
        return out or [30, 7]


class Reminder(models.Model):
    """One reminder: a vehicle (or a customer) has something due on ``due_date``; it fired on ``remind_on``.

    Written by the daily sweep, set-based; unique per vehicle, kind, due date and lead, so the sweep can run
    any number of times. The care calendar records what a person did about it (called, booked, dismissed).
    """

    # the sweep writes a quarter of a million reminders on its first run: no index that another one already covers
    # (store: the two store indexes below; vehicle: the unique constraint) or that would hold only NULLs
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="care_reminders", db_index=False
    )
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="care_reminders")
    vehicle = models.ForeignKey(
        "vehicles.Vehicle", verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.CASCADE, related_name="care_reminders",
        db_index=False,
    )
    kind = models.CharField(_("type"), max_length=16, choices=ReminderKind.choices)
    due_date = models.DateField(_("due"))
    lead_days = models.PositiveSmallIntegerField(_("days before"), default=0)
    remind_on = models.DateField(_("reminded on"))
    due_km = models.PositiveIntegerField(_("due at (km)"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.DUE)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    action_at = models.DateTimeField(_("action at"), null=True, blank=True)
    action_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("action by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "kind", "due_date", "lead_days"], condition=models.Q(vehicle__isnull=False),
                name="care_reminder_unique_vehicle",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "due_date", "lead_days"], condition=models.Q(vehicle__isnull=True),
                name="care_reminder_unique_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "due_date"], name="care_reminder_store_due"),
            models.Index(fields=["store", "remind_on"], name="care_reminder_store_sent"),
            models.Index(fields=["message"], condition=models.Q(message__isnull=False), name="care_reminder_message"),
            models.Index(fields=["action_by"], condition=models.Q(action_by__isnull=False), name="care_reminder_action_by"),
            # the reminders whose message is still to be queued (``reminders_send_pending``), whatever the table's size
            models.Index(fields=["id"], condition=models.Q(message__isnull=True, status="due"), name="care_reminder_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_date}"


class ReminderEvent(models.Model):
    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reminder event")
        verbose_name_plural = _("reminder events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.reminder_id}: {self.from_state}→{self.to_state}"


class VehicleDue(models.Model):
    """The projected due dates of one vehicle, kept by the daily sweep (``sweep.refresh_due``).

    Derived data: rebuilt in full when the plans, the stores' assumed daily distance or the stores change (or when it
    is empty, or a week old); otherwise only the rows of the vehicles whose inputs changed since the sweep before the
    last are computed again. Unlogged on PostgreSQL (a crash empties it, and the next sweep rebuilds it).
    """

    vehicle = models.OneToOneField(
        "vehicles.Vehicle", verbose_name=_("vehicle"), primary_key=True, on_delete=models.CASCADE, db_constraint=False,
        related_name="+",
    )
    customer_id = models.BigIntegerField(_("customer"))
    store_id = models.BigIntegerField(_("store"))
    purchase_date = models.DateField(_("purchase date"), null=True)
    insurance_expiry = models.DateField(_("insurance expiry"), null=True)
    warranty_end = models.DateField(_("warranty end"), null=True)
    #: month * 100 + day of the purchase date: the anniversary (and annual inspection) candidates of a day
    anniversary = models.PositiveSmallIntegerField(_("anniversary (MMDD)"), null=True)
    fs_due = models.DateField(_("first service due"), null=True)
    fs_km = models.PositiveIntegerField(_("first service at (km)"), null=True)
    mt_due = models.DateField(_("maintenance due"), null=True)
    mt_km = models.BigIntegerField(_("maintenance at (km)"), null=True)
    last_service = models.DateField(_("last service"), null=True)

    class Meta:
        verbose_name = _("projected due dates")
        verbose_name_plural = _("projected due dates")
        indexes = [
            models.Index(fields=["fs_due"], condition=models.Q(fs_due__isnull=False), name="care_due_first_service"),
            models.Index(fields=["mt_due"], condition=models.Q(mt_due__isnull=False), name="care_due_maintenance"),
            models.Index(fields=["insurance_expiry"], condition=models.Q(insurance_expiry__isnull=False), name="care_due_insurance"),
            models.Index(fields=["warranty_end"], condition=models.Q(warranty_end__isnull=False), name="care_due_warranty"),
            models.Index(fields=["anniversary"], condition=models.Q(anniversary__isnull=False), name="care_due_anniversary"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id}"


class DueTableState(models.Model):
    """One row: what ``VehicleDue`` was computed from, so the next sweep knows what to compute again."""

    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True)
    rebuilt_at = models.DateTimeField(_("rebuilt at"), null=True)
    #: high-water marks (time, and the last id of readings, orders, jobs and their events) of the last sweep and of the
    #: one before it; a refresh looks at what changed since the one before the last (a transaction still open at the
    #: last sweep is seen by the next one)
    marks = models.JSONField(_("marks"), default=dict)
    marks_before = models.JSONField(_("previous marks"), default=dict)

    class Meta:
        verbose_name = _("due-date table state")
        verbose_name_plural = _("due-date table state")

    def __str__(self) -> str:
        return f"{self.rebuilt_at}"


class Playbook(models.Model):
    """A configurable automated flow (SPEC §10): a trigger, steps, stop conditions, a hold-out group.

    A one-off campaign is a playbook with the ``scheduled`` trigger: at ``starts_at`` it enrols its audience once.
    """

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="playbooks")
    code = models.SlugField(_("code"), max_length=40)
    #: the shipped playbooks' name and description are codes rendered in the reader's language (issue 16); a manager's
    #: own stay as typed
    name = ReadTimeCharField(_("name"), max_length=120)
    description = ReadTimeTextField(_("description"), blank=True)
    is_campaign = models.BooleanField(_("one-off campaign"), default=False)
    is_active = models.BooleanField(_("active"), default=False)
    trigger = models.CharField(_("trigger"), max_length=16, choices=TriggerKind.choices)
    tier = models.CharField(_("tier"), max_length=1, blank=True, help_text=_("For “tier entered”: A, B, C or D."))
    date_event = models.CharField(_("date event"), max_length=20, choices=DateEvent.choices, blank=True)
    offset_days = models.IntegerField(_("days after the event"), default=0, help_text=_("Negative: before the event."))
    inactivity_days = models.PositiveIntegerField(_("days without a visit"), null=True, blank=True)
    segment_id = models.PositiveIntegerField(_("segment"), null=True, blank=True)
    audience_make = models.CharField(
        _("audience: make"), max_length=40, blank=True, help_text=_("Campaign without a segment: the store's customers owning this make (empty: all).")
    )
    starts_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    holdout_percent = models.PositiveSmallIntegerField(_("hold-out group (%)"), default=10)
    stop_on_booked = models.BooleanField(_("stop when an appointment is booked"), default=True)
    stop_on_visited = models.BooleanField(_("stop when the customer visits"), default=True)
    stop_on_opt_out = models.BooleanField(_("stop when the customer opts out"), default=True)
    measure_days = models.PositiveSmallIntegerField(_("measure results over (days)"), default=90)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["store_id", "is_campaign", "code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="care_playbook_code_unique"),
            models.CheckConstraint(condition=models.Q(holdout_percent__lte=50), name="care_playbook_holdout_max"),
        ]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveSmallIntegerField(_("no."))
    kind = models.CharField(_("step"), max_length=10, choices=StepKind.choices)
    message_kind = models.CharField(_("message"), max_length=40, blank=True)
    channel = models.CharField(_("channel"), max_length=10, blank=True, help_text=_("Empty: the customer's preferred channel."))
    text = models.CharField(_("offer / script"), max_length=300, blank=True)
    wait_days = models.PositiveSmallIntegerField(_("wait (days)"), default=0)
    call_target = models.CharField(_("call by"), max_length=12, choices=CallTarget.choices, blank=True)
    voucher_template_id = models.PositiveIntegerField(_("voucher template"), null=True, blank=True)

    class Meta:
        verbose_name = _("playbook step")
        verbose_name_plural = _("playbook steps")
        ordering = ["playbook_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["playbook", "seq"], name="care_step_seq_unique")]

    def __str__(self) -> str:
        return f"{self.seq}. {self.get_kind_display()}"


class Enrolment(models.Model):
    """A customer in a playbook: the current step and when it runs next (or a hold-out who receives nothing)."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="enrolments")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="care_enrolments")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    vehicle = models.ForeignKey("vehicles.Vehicle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trigger_key = models.CharField(max_length=80)
    is_holdout = models.BooleanField(_("hold-out"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    step_index = models.PositiveSmallIntegerField(_("next step"), default=0)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    contacted_at = models.DateTimeField(_("first contacted at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    stop_reason = models.CharField(_("stop reason"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-enrolled_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["playbook", "customer", "trigger_key"], name="care_enrolment_once")]
        indexes = [models.Index(fields=["status", "next_run_at"], name="care_enrolment_due")]

    def __str__(self) -> str:
        return f"{self.playbook_id}:{self.customer_id} {self.status}"


class EnrolmentEvent(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.enrolment_id}: {self.from_state}→{self.to_state}"


class EnrolmentAction(models.Model):
    """What a step did for one enrolment (message queued, call task, voucher): the playbook's log."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="actions")
    seq = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    voucher_id = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["enrolment_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["enrolment", "seq"], name="care_action_once")]

    def __str__(self) -> str:
        return f"{self.enrolment_id}#{self.seq} {self.kind}"


# keep the ``EnrolmentStatus`` / ``ReminderStatus`` names importable from here for templates and tests
__all__ = [
    "CallTarget", "CareSettings", "DateEvent", "Enrolment", "EnrolmentAction", "EnrolmentEvent", "EnrolmentStatus",
    "MaintenancePlan", "Playbook", "PlaybookStep", "Reminder", "ReminderEvent", "ReminderKind", "ReminderStatus",
    "StepKind", "TriggerKind",
]


class SweepRun(models.Model):
    """A manager's "run now" of the reminder sweep or the playbook run for one store: queued on the worker, its
    progress and result kept for the page (the scheduled runs go on as before)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("what"), max_length=10, choices=RunKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    phase = models.CharField(_("step"), max_length=40, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("care run")
        verbose_name_plural = _("care runs")
        constraints = [
            models.UniqueConstraint(fields=["store", "kind"], condition=models.Q(status__in=["queued", "running"]),
                                    name="care_one_open_run_per_store_kind"),
        ]
        indexes = [models.Index(fields=["store", "-requested_at"], name="care_run_store_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.store_id} {self.status}"


class SweepRunEvent(models.Model):
    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10)
    to_state = models.CharField(max_length=10)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state}→{self.to_state}"
