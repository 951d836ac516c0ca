from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField
from aftersales.staff.models import Skill
from aftersales.stores.models import Weekday

from .choices import AppointmentStatus, BookingChannel, ServiceKind


class ServiceType(models.Model):
    """What a customer books (保养 / 维修 / 检测 …) at one store, with its standard duration and required skill."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="service_types")
    code = models.SlugField(_("code"), max_length=30)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=ServiceKind.choices, default=ServiceKind.MAINTENANCE)
    duration_minutes = models.PositiveSmallIntegerField(_("standard duration (minutes)"), default=60)
    required_skill = models.CharField(_("required technician skill"), max_length=20, choices=Skill.choices, blank=True)
    materials_zh = models.TextField(_("materials to bring (Chinese)"), blank=True)
    materials_en = models.TextField(_("materials to bring (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        ordering = ["store_id", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="service_type_code_unique_in_store"),
            models.CheckConstraint(condition=models.Q(duration_minutes__gte=5), name="service_type_duration_min"),
        ]

    def __str__(self) -> str:  # in the reader's language ("{{ a.service_type }}" on an English page reads English)
        from django.utils.translation import get_language

        return self.name_in("en" if (get_language() or "").startswith("en") else "zh-hans")

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_zh

    def materials_in(self, language: str) -> str:
        return self.materials_en if language == "en" and self.materials_en else self.materials_zh


class CannedJob(models.Model):
    """A standard job (e.g. 5,000 km service) with its duration and the parts it normally needs."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="canned_jobs")
    name = models.CharField(_("name"), max_length=80)
    service_type = models.ForeignKey(ServiceType, verbose_name=_("service type"), on_delete=models.PROTECT, related_name="canned_jobs")
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), null=True, blank=True, help_text=_("Empty: the service type's standard duration.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("standard job")
        verbose_name_plural = _("standard jobs")
        ordering = ["store_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> int:
        return self.duration_minutes or self.service_type.duration_minutes


class CannedJobPart(models.Model):
    canned_job = models.ForeignKey(CannedJob, verbose_name=_("standard job"), on_delete=models.CASCADE, related_name="parts")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2, default=1)

    class Meta:
        verbose_name = _("default part")
        verbose_name_plural = _("default parts")
        constraints = [
            models.UniqueConstraint(fields=["canned_job", "part"], name="canned_job_part_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="canned_job_part_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}"


class Bay(models.Model):
    """A workshop bay (工位). Priority-lane bays are kept for tier A / priority customers."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="bays")
    name = models.CharField(_("name"), max_length=40)
    is_priority = models.BooleanField(_("priority lane"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bay")
        verbose_name_plural = _("bays")
        ordering = ["store_id", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="bay_name_unique_in_store")]

    def __str__(self) -> str:
        return self.name


class TechnicianShift(models.Model):
    """When a technician works at a store on a weekday. Technicians are booked only inside shifts and opening hours."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.CASCADE, related_name="shifts")
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="technician_shifts")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("starts"))
    end = models.TimeField(_("ends"))

    class Meta:
        verbose_name = _("technician shift")
        verbose_name_plural = _("technician shifts")
        ordering = ["store_id", "user_id", "weekday", "start"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="shift_ends_after_start")]
        indexes = [models.Index(fields=["store", "weekday"], name="shift_store_weekday_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Appointment(models.Model):
    """A booked visit: it holds a bay, a technician and an advisor from ``start`` to ``end`` (aware, UTC)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="appointments")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="appointments")
    service_type = models.ForeignKey(ServiceType, verbose_name=_("service type"), on_delete=models.PROTECT, related_name="appointments")
    canned_job = models.ForeignKey(
        CannedJob, verbose_name=_("standard job"), null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("service advisor"), on_delete=models.PROTECT, related_name="advised_appointments"
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), on_delete=models.PROTECT, related_name="technician_appointments"
    )
    bay = models.ForeignKey(Bay, verbose_name=_("bay"), on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(_("status"), max_length=12, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    channel = models.CharField(_("channel"), max_length=10, choices=BookingChannel.choices, default=BookingChannel.PHONE)
    priority = models.BooleanField(_("priority lane"), default=False)
    fault_description = models.TextField(_("fault description"), blank=True)
    walk_in_seconds = models.PositiveIntegerField(
        _("walk-in registration time (seconds)"), null=True, blank=True,
        help_text=_("Walk-ins: seconds from opening the quick registration screen to the bay being assigned."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="appointment_ends_after_start")]
        indexes = [
            models.Index(fields=["store", "start"], name="appt_store_start_idx"),
            models.Index(fields=["technician", "start"], name="appt_tech_start_idx"),
            models.Index(fields=["advisor", "start"], name="appt_advisor_start_idx"),
            models.Index(fields=["customer", "status"], name="appt_customer_status_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.start:%Y-%m-%d %H:%M}"

    @property
    def reference(self) -> str:
        """The parts reservation reference of this booking."""
        return f"appointment:{self.pk}"

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


class AppointmentEvent(models.Model):
    """One status change (or reschedule) of an appointment: the timeline and the audit trail."""

    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} → {self.to_state}"


class AppointmentPartShortage(models.Model):
    """A default part that could not be reserved for a booking: the foreman's "missing parts" list."""

    appointment = models.ForeignKey(Appointment, verbose_name=_("appointment"), on_delete=models.CASCADE, related_name="shortages")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity needed"), max_digits=10, decimal_places=2)
    available = models.DecimalField(_("available when booked"), max_digits=10, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("missing part")
        verbose_name_plural = _("missing parts")
        constraints = [models.UniqueConstraint(fields=["appointment", "part"], name="appt_shortage_unique")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}"
