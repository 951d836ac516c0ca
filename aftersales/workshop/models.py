from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aftersales.common.readtime import ReadTimeCharField

from .choices import JobStatus, JobType, LineKind, OrderStatus


class RepairOrder(models.Model):
    """A visit: the repair order (工单). Header, jobs and lines; amounts are computed in common.money."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="repair_orders")
    number = models.CharField(_("number"), max_length=30)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="repair_orders")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="repair_orders")
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.CHECKED_IN)
    opened_at = models.DateTimeField(_("checked in at"))
    appointment = models.OneToOneField(
        "appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="repair_order",
    )
    promised_at = models.DateTimeField(_("promised for"), null=True, blank=True)
    authorized_total = models.DecimalField(_("authorized total"), max_digits=12, decimal_places=2, default=0)
    # an insured repair (from an approved damage assessment): the insurer named and the amount it approved; the
    # customer approves and pays the rest (common.money.insurance_split)
    insurer_name = models.CharField(_("insurer"), max_length=80, blank=True, default="")
    insurer_amount = models.DecimalField(_("amount the insurer approves"), max_digits=12, decimal_places=2, null=True, blank=True)
    insurance_policy = models.CharField(_("policy number"), max_length=40, blank=True, default="")
    insurance_claim = models.CharField(_("claim number"), max_length=40, blank=True, default="")
    last_public_update_at = models.DateTimeField(_("last customer-visible update"), null=True, blank=True)
    progress_messages = models.BooleanField(
        _("send progress messages to the customer"), default=True,
        help_text=_("Public progress notes and “ready for collection” also go to the customer's phone."),
    )
    keep_old_parts = models.BooleanField(
        _("give the old parts back"), default=False,
        help_text=_("Ticked at the handover: every replaced part is kept and handed back to the customer."),
    )
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    mileage_in = models.PositiveIntegerField(_("mileage in (km)"), null=True, blank=True)
    complaint = models.TextField(_("customer's request"), blank=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("repair order")
        verbose_name_plural = _("repair orders")
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="ro_number_unique_in_store")]
        indexes = [
            models.Index(fields=["customer", "-opened_at"], name="ro_customer_idx"),
            models.Index(fields=["vehicle", "-opened_at"], name="ro_vehicle_idx"),
            # the cockpit's day and period figures (analytics.kpis: checked in / delivered in a period, per store)
            models.Index(fields=["store", "opened_at"], name="ro_store_opened_idx"),
            models.Index(fields=["store", "delivered_at"], name="ro_store_delivered_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class RepairOrderEvent(models.Model):
    order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("repair order event")
        verbose_name_plural = _("repair order events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state}→{self.to_state}"


class RepairJob(models.Model):
    order = models.ForeignKey(RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="jobs")
    seq = models.PositiveSmallIntegerField(_("no."), default=1)
    status = models.CharField(_("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.PROPOSED)
    job_type = models.CharField(_("job type"), max_length=12, choices=JobType.choices, default=JobType.REPAIR)
    is_additional = models.BooleanField(_("found during the repair"), default=False)
    declined_reason = models.CharField(_("reason declined"), max_length=300, blank=True)
    standard_hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2, default=0)
    required_skill = models.CharField(_("required skill"), max_length=20, blank=True)
    required_certificate = models.CharField(
        _("required certificate"), max_length=20, blank=True,
        help_text=_("Only a technician holding a valid certificate of this kind can be given the job."),
    )
    bay = models.ForeignKey(
        "appointments.Bay", verbose_name=_("bay"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    title = models.CharField(_("job"), max_length=200)
    cause = models.CharField(_("cause"), max_length=300, blank=True)
    correction = models.CharField(pgettext_lazy("repair job", "correction"), max_length=300, blank=True)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["order_id", "seq", "id"]
        indexes = [models.Index(fields=["status"], name="job_status_idx")]
        permissions = [
            ("dispatch_repairjob", _("Can dispatch jobs to technicians and bays")),
            ("clock_repairjob", _("Can clock on and off jobs")),
        ]

    def __str__(self) -> str:
        from aftersales.common.names import one_language

        return one_language(self.title)  # a title written in both languages: the reader's half (no query)


class RepairJobEvent(models.Model):
    """A job's move (proposed → authorized/declined → dispatched → in progress → done → passed QC / rework)."""

    job = models.ForeignKey(RepairJob, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("job event")
        verbose_name_plural = _("job events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.from_state}→{self.to_state}"


class RepairLine(models.Model):
    """A labour, part or fee line of a job. ``order`` is kept on the line so a visit's lines load in one query."""

    order = models.ForeignKey(RepairOrder, on_delete=models.CASCADE, related_name="lines")
    job = models.ForeignKey(RepairJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_aftermarket = models.BooleanField(_("aftermarket (non-OEM)"), default=False)
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=2, default=0)
    code = models.CharField(_("code / part no."), max_length=40, blank=True)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    keep_old_part = models.BooleanField(_("old part kept for the customer"), default=False)

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["order_id", "id"]
        indexes = [models.Index(fields=["order"], name="line_order_idx")]

    def __str__(self) -> str:
        return self.description


class ProgressNote(models.Model):
    """A note on an order's progress; public ones appear on the customer's status page (SPEC §6: refreshed at least
    every 30 minutes while the car is in the workshop)."""

    order = models.ForeignKey(RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="notes")
    job = models.ForeignKey(RepairJob, verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="notes")
    text = models.TextField(_("note"))
    is_public = models.BooleanField(_("visible to the customer"), default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("progress note")
        verbose_name_plural = _("progress notes")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class TimeEntry(models.Model):
    """A technician's time on a job (clocked on → clocked off). At most one open entry per technician, enforced by a
    partial unique index as well as by the clocking service (which locks the technician's row)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    job = models.ForeignKey(RepairJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="time_entries")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="time_entries"
    )
    started_at = models.DateTimeField(_("clocked on"))
    ended_at = models.DateTimeField(_("clocked off"), null=True, blank=True)
    end_reason = models.CharField(_("why clocked off"), max_length=12, blank=True)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["technician"], condition=models.Q(ended_at__isnull=True), name="one_open_entry_per_technician"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="time_entry_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["job"], name="time_entry_job_idx"),
            models.Index(fields=["technician", "-started_at"], name="time_entry_tech_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.technician_id}@{self.job_id} {self.started_at:%H:%M}"


class ProgressFlag(models.Model):
    """An order that went 30 minutes of opening time without a customer-visible update while the car was in the
    workshop (SPEC §6). One row per silent period: the period is named by the ``last_public_update_at`` it began at."""

    order = models.ForeignKey(RepairOrder, verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="progress_flags")
    silent_since = models.DateTimeField(_("silent since"))
    flagged_at = models.DateTimeField(_("flagged at"))
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("progress flag")
        verbose_name_plural = _("progress flags")
        ordering = ["-flagged_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["order", "silent_since"], name="one_flag_per_silent_period")]

    def __str__(self) -> str:
        return f"{self.order_id} silent since {self.silent_since:%H:%M}"


class OrderNumberCounter(models.Model):
    """The last repair-order number used per store and local day, taken under a row lock so that concurrent
    check-ins never collide (the unique constraint on the number stays the final guard)."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("repair-order number counter")
        verbose_name_plural = _("repair-order number counters")
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="ro_counter_unique_day")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.last}"
