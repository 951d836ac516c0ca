"""Connected vehicles: devices, their readings, rejected messages (counted), alert rules and alerts.

A device belongs to one store (the store that installed it: scoping) and one vehicle. Its credential is never
stored: the device key is derived from the server's secret and a per-device salt (see ``credentials.py``); the
table keeps the salt and a fingerprint (SHA-256) of the key, so a copy of the database signs nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import AlertStatus, Protocol, RejectReason, RuleKind, Severity


class Device(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="telematics_devices")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="telematics_devices")
    device_id = models.CharField(_("device ID"), max_length=64, unique=True)
    protocol = models.CharField(_("protocol"), max_length=12, choices=Protocol.choices, default=Protocol.JSON_V1)
    key_salt = models.CharField(max_length=64)
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=64)
    key_version = models.PositiveIntegerField(_("key version"), default=1)
    key_rotated_at = models.DateTimeField(_("key issued at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("last sequence number"), null=True, blank=True)
    last_recorded_at = models.DateTimeField(_("time of the latest reading"), null=True, blank=True)
    mileage_fed_at = models.DateTimeField(null=True, blank=True)
    accepted_count = models.PositiveBigIntegerField(_("messages accepted"), default=0)
    rejected_count = models.PositiveBigIntegerField(_("messages rejected"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("telematics device")
        verbose_name_plural = _("telematics devices")
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.device_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Reading(models.Model):
    """One accepted message. Unique per (device, seq): a redelivered message is refused by the key, never written
    twice. On PostgreSQL the table is range-partition-ready on ``recorded_at`` (every index leads with a time or
    the device); old rows are removed by ``telematics_prune`` after ``TELEMATICS_RETENTION_DAYS``."""

    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="readings")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="telematics_readings")
    seq = models.BigIntegerField(_("sequence number"))
    recorded_at = models.DateTimeField(_("recorded at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    odometer_km = models.PositiveIntegerField(_("odometer (km)"), null=True, blank=True)
    battery_v = models.DecimalField(_("battery voltage"), max_digits=4, decimal_places=2, null=True, blank=True)
    fuel_pct = models.PositiveSmallIntegerField(_("fuel (%)"), null=True, blank=True)
    charge_pct = models.PositiveSmallIntegerField(_("charge (%)"), null=True, blank=True)
    ignition = models.BooleanField(_("ignition on"), null=True, blank=True)
    speed_kmh = models.PositiveSmallIntegerField(_("speed (km/h)"), null=True, blank=True)
    dtcs = models.JSONField(_("fault codes"), default=list, blank=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lon = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    nev_alarm = models.PositiveSmallIntegerField(_("NEV alarm level"), null=True, blank=True)
    crash = models.BooleanField(_("crash detected"), null=True, blank=True)
    airbag = models.BooleanField(_("airbag deployed"), null=True, blank=True)

    class Meta:
        verbose_name = _("telematics reading")
        verbose_name_plural = _("telematics readings")
        ordering = ["device_id", "-seq"]
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="telematics_reading_device_seq")]
        indexes = [models.Index(fields=["vehicle", "recorded_at"], name="tel_reading_vehicle_time")]

    def __str__(self) -> str:
        return f"{self.device_id}#{self.seq}"


class Rejection(models.Model):
    """Rejected messages counted per device (as claimed: an unknown device is counted under the id it gave) and reason."""

    device = models.ForeignKey(Device, verbose_name=_("device"), null=True, blank=True, on_delete=models.CASCADE, related_name="rejections")
    device_ref = models.CharField(_("device ID (as sent)"), max_length=64)
    reason = models.CharField(_("reason"), max_length=16, choices=RejectReason.choices)
    count = models.PositiveBigIntegerField(_("count"), default=0)
    last_at = models.DateTimeField(_("last"), default=timezone.now)
    last_detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("rejected messages")
        verbose_name_plural = _("rejected messages")
        constraints = [models.UniqueConstraint(fields=["device_ref", "reason"], name="telematics_rejection_unique")]

    def __str__(self) -> str:
        return f"{self.device_ref} {self.reason} ×{self.count}"


class AlertRule(models.Model):
    """A store's rule of one kind, tuned by its manager (the shipped defaults are created on first use)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="telematics_rules")
    kind = models.CharField(_("rule"), max_length=16, choices=RuleKind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    threshold = models.DecimalField(_("threshold"), max_digits=6, decimal_places=2, null=True, blank=True)
    repeats = models.PositiveSmallIntegerField(_("readings in a row before alerting"), default=2)
    critical = models.BooleanField(_("critical (sent even in quiet hours)"), default=False)
    service_kind = models.CharField(_("recommended service"), max_length=12, default="repair")

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["store_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["store", "kind"], name="telematics_rule_unique"),
            models.CheckConstraint(condition=models.Q(repeats__gte=1), name="telematics_rule_repeats_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.kind}"


class Alert(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="telematics_alerts")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.CASCADE, related_name="telematics_alerts")
    device = models.ForeignKey(Device, verbose_name=_("device"), on_delete=models.CASCADE, related_name="alerts")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="telematics_alerts")
    kind = models.CharField(_("rule"), max_length=16, choices=RuleKind.choices)
    code = models.CharField(_("fault code"), max_length=8, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=8, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_reading_at = models.DateTimeField(_("last reading"), null=True, blank=True)
    value = models.CharField(_("value"), max_length=40, blank=True)
    recommended_service = models.ForeignKey(
        "appointments.ServiceType", verbose_name=_("recommended service"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vehicle", "kind", "code"], condition=models.Q(status=AlertStatus.OPEN), name="telematics_one_open_alert"
            ),
        ]
        indexes = [models.Index(fields=["store", "status"], name="tel_alert_store_status")]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.kind} {self.code}".strip()


class AlertEvent(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=8, blank=True)
    to_state = models.CharField(max_length=8)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.from_state}→{self.to_state}"
