from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftersales.common.models import TimeStampedModel
from aftersales.common.readtime import ReadTimeCharField

from .choices import FuelType, ReadingSource


class Vehicle(TimeStampedModel):
    group = models.ForeignKey("stores.DealerGroup", verbose_name=_("dealer group"), on_delete=models.PROTECT, related_name="vehicles")
    vin = models.CharField(_("VIN"), max_length=17)
    plate = models.CharField(_("plate"), max_length=10, blank=True, db_index=True)
    make = models.CharField(_("make"), max_length=40)
    model = models.CharField(_("model"), max_length=60)
    year = models.PositiveSmallIntegerField(_("model year"), null=True, blank=True)
    colour = models.CharField(_("colour"), max_length=30, blank=True)
    fuel_type = models.CharField(_("fuel type"), max_length=10, choices=FuelType.choices, default=FuelType.PETROL)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    purchase_price = models.DecimalField(_("purchase price"), max_digits=12, decimal_places=2, null=True, blank=True)
    selling_store = models.ForeignKey(
        "stores.Store", verbose_name=_("selling store"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    insurance_company = models.CharField(_("insurance company"), max_length=60, blank=True)
    insurance_expiry = models.DateField(_("insurance expiry"), null=True, blank=True)
    warranty_start = models.DateField(_("warranty start"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    current_mileage = models.PositiveIntegerField(_("current mileage (km)"), default=0)
    owner = models.ForeignKey(
        "customers.Customer", verbose_name=_("owner"), null=True, on_delete=models.PROTECT, related_name="vehicles"
    )

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["-id"]
        permissions = [
            ("transfer_vehicle", _("Can record a change of owner")),
            ("correct_mileage", _("Can record an odometer correction")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["group", "vin"], name="vehicle_vin_unique_in_group"),
            models.CheckConstraint(
                condition=models.Q(warranty_end__isnull=True) | models.Q(warranty_start__isnull=True)
                | models.Q(warranty_end__gte=models.F("warranty_start")),
                name="vehicle_warranty_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plate or self.vin} {self.make} {self.model}"


class VehicleOwnership(models.Model):
    """Who owned the vehicle when. The vehicle's history (visits, readings) stays with the vehicle."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="ownerships")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("owner"), on_delete=models.PROTECT, related_name="ownerships")
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    reason = ReadTimeCharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("ownership")
        verbose_name_plural = _("ownership history")
        ordering = ["vehicle_id", "-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle"], condition=models.Q(ended_on__isnull=True), name="one_current_owner_per_vehicle"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id}:{self.customer_id} {self.started_on}–{self.ended_on or ''}"


class MileageReading(models.Model):
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="readings")
    km = models.PositiveIntegerField(_("mileage (km)"))
    read_at = models.DateTimeField(_("read at"))
    source = models.CharField(_("source"), max_length=12, choices=ReadingSource.choices, default=ReadingSource.MANUAL)
    is_correction = models.BooleanField(_("odometer correction"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("mileage reading")
        verbose_name_plural = _("mileage readings")
        ordering = ["vehicle_id", "-read_at", "-id"]
        indexes = [models.Index(fields=["vehicle", "read_at"], name="reading_vehicle_time_idx")]

    def __str__(self) -> str:
        return f"{self.km} km @ {self.read_at:%Y-%m-%d}"
