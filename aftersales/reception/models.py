from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import Condition, DamageKind, Frequency, HandoverStatus, SignedVia, Since


def _photo_path(instance: HandoverPhoto, filename: str) -> str:
    return f"reception/{instance.handover_id}/photos/{filename}"


def _signature_path(instance: Handover, filename: str) -> str:
    return f"reception/{instance.pk}/signature/{filename}"


class Handover(models.Model):
    """The vehicle handover sheet (车辆交接单) and the inquiry (问诊) of one arrival; opens the repair order."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="handovers")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="handovers")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="handovers")
    appointment = models.OneToOneField(
        "appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="handover",
    )
    order = models.OneToOneField(
        "workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="handover",
    )
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("advisor"), null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=HandoverStatus.choices, default=HandoverStatus.DRAFT)
    # the car
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    energy_level = models.PositiveSmallIntegerField(_("fuel / charge level (%)"), null=True, blank=True)
    exterior = models.CharField(_("exterior"), max_length=8, choices=Condition.choices, default=Condition.GOOD)
    exterior_notes = models.CharField(_("exterior notes"), max_length=300, blank=True)
    interior = models.CharField(_("interior"), max_length=8, choices=Condition.choices, default=Condition.GOOD)
    interior_notes = models.CharField(_("interior notes"), max_length=300, blank=True)
    belongings = models.CharField(_("belongings left in the car"), max_length=300, blank=True)
    warning_lights = models.CharField(_("warning lights on"), max_length=200, blank=True)
    # the inquiry
    since = models.CharField(_("since when"), max_length=10, choices=Since.choices, blank=True)
    frequency = models.CharField(_("how often"), max_length=10, choices=Frequency.choices, blank=True)
    conditions = models.JSONField(_("under what conditions"), default=list, blank=True)
    customer_words = models.TextField(_("in the customer's words"), blank=True)
    restatement = models.TextField(_("advisor's restatement"), blank=True)
    extra_requests = models.JSONField(_("extra requests"), default=list, blank=True)
    promised_at = models.DateTimeField(_("promised for"), null=True, blank=True)
    # the customer's confirmation
    signature = models.FileField(_("signature"), upload_to=_signature_path, blank=True)
    signer_name = models.CharField(_("signed by"), max_length=60, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_via = models.CharField(_("signed"), max_length=8, choices=SignedVia.choices, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("handover sheet")
        verbose_name_plural = _("handover sheets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(energy_level__lte=100), name="handover_energy_0_100"),
        ]
        indexes = [models.Index(fields=["store", "-created_at"], name="handover_store_idx")]

    def __str__(self) -> str:
        return f"{self.vehicle} {self.created_at:%Y-%m-%d}"


class HandoverEvent(models.Model):
    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("handover event")
        verbose_name_plural = _("handover events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.handover_id}: {self.from_state}→{self.to_state}"


class DamageMark(models.Model):
    """Existing damage marked on the car outline; x and y are percentages of the outline's width and height."""

    handover = models.ForeignKey(Handover, verbose_name=_("handover sheet"), on_delete=models.CASCADE, related_name="marks")
    x = models.DecimalField(_("x (%)"), max_digits=5, decimal_places=2)
    y = models.DecimalField(_("y (%)"), max_digits=5, decimal_places=2)
    kind = models.CharField(_("damage"), max_length=10, choices=DamageKind.choices, default=DamageKind.SCRATCH)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("marked at"), default=timezone.now)

    class Meta:
        verbose_name = _("damage mark")
        verbose_name_plural = _("damage marks")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(x__gte=0, x__lte=100, y__gte=0, y__lte=100), name="damage_mark_on_outline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.x}, {self.y})"


class HandoverPhoto(models.Model):
    handover = models.ForeignKey(Handover, verbose_name=_("handover sheet"), on_delete=models.CASCADE, related_name="photos")
    mark = models.ForeignKey(DamageMark, verbose_name=_("damage mark"), null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_photo_path)
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("handover photo")
        verbose_name_plural = _("handover photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.caption or self.image.name
