"""Roadside rescue: the store's rescue settings (ETA factors), units with their crews, cases with their events,
positions and photos, and the alerts the escalation sweep raises for the dispatcher."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import AlertKind, CaseStatus, Incident, ShiftDays, Source, UnitKind, UnitStatus

LAT = {"max_digits": 9, "decimal_places": 6}


class RescueArea(models.Model):
    """A store's rescue settings: where its units start from and the ETA factors (calibrated from past arrivals)."""

    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="rescue_area")
    base_lat = models.DecimalField(_("base latitude"), **LAT)
    base_lng = models.DecimalField(_("base longitude"), **LAT)
    speed_kmh = models.DecimalField(_("average speed (km/h)"), max_digits=5, decimal_places=1, default=Decimal("35.0"))
    detour_factor = models.DecimalField(_("detour factor"), max_digits=4, decimal_places=2, default=Decimal("1.35"))
    prep_minutes = models.PositiveSmallIntegerField(_("preparation time (minutes)"), default=5)
    accept_within_minutes = models.PositiveSmallIntegerField(_("crew accepts within (minutes)"), default=5)
    hotline = models.CharField(_("rescue hotline"), max_length=30, blank=True)
    calibrated_at = models.DateTimeField(_("calibrated at"), null=True, blank=True)
    calibration_samples = models.PositiveIntegerField(_("arrivals used for calibration"), default=0)

    class Meta:
        verbose_name = _("rescue area")
        verbose_name_plural = _("rescue areas")

    def __str__(self) -> str:
        return str(self.store)


class RescueUnit(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="rescue_units")
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices, default=UnitKind.SERVICE_VAN)
    capabilities = models.JSONField(_("capabilities"), default=list, blank=True)
    crew = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("crew"), blank=True, related_name="rescue_units")
    status = models.CharField(_("status"), max_length=12, choices=UnitStatus.choices, default=UnitStatus.AVAILABLE)
    case = models.ForeignKey("RescueCase", verbose_name=_("current case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lat = models.DecimalField(_("latitude"), null=True, blank=True, **LAT)
    lng = models.DecimalField(_("longitude"), null=True, blank=True, **LAT)
    position_at = models.DateTimeField(_("position at"), null=True, blank=True)
    plate = models.CharField(_("plate"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("rescue unit")
        verbose_name_plural = _("rescue units")
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="rescue_unit_name_unique_in_store")]
        indexes = [models.Index(fields=["store", "status"], name="rescue_unit_status_idx")]

    def __str__(self) -> str:
        return self.name


class UnitShift(models.Model):
    """When a unit is on duty and who crews it then: on some days (chosen weekdays, or the store's business days, or
    its weekends and holidays by the business calendar) from ``starts`` to ``ends`` local time; ``ends`` at or before
    ``starts`` runs past midnight into the next day. A unit without shifts is on duty round the clock."""

    unit = models.ForeignKey(RescueUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="shifts")
    days = models.CharField(_("runs on"), max_length=12, choices=ShiftDays.choices, default=ShiftDays.WEEKDAYS)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # 0 = Monday … 6 = Sunday
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))
    crew = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("crew"), blank=True, related_name="rescue_shifts")

    class Meta:
        verbose_name = _("unit shift")
        verbose_name_plural = _("unit shifts")
        ordering = ["unit_id", "starts", "id"]
        constraints = [models.CheckConstraint(condition=~models.Q(starts=models.F("ends")), name="rescue_shift_not_empty")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def overnight(self) -> bool:
        return self.ends <= self.starts


def _signature_path(instance: RescueCase, filename: str) -> str:
    return f"rescue/{instance.pk}/signature/{filename}"


class RescueCase(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="rescue_cases")
    number = models.CharField(_("number"), max_length=24, unique=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), null=True, blank=True, on_delete=models.PROTECT, related_name="rescue_cases")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.PROTECT, related_name="rescue_cases")
    caller_name = models.CharField(_("caller"), max_length=60, blank=True)
    caller_phone = models.CharField(_("caller's phone"), max_length=20, blank=True)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.PHONE)
    incident = models.CharField(_("what happened"), max_length=12, choices=Incident.choices)
    drivable = models.BooleanField(_("can be driven"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lat = models.DecimalField(_("latitude"), **LAT)
    lng = models.DecimalField(_("longitude"), **LAT)
    # entered from an address only: the point is the store's base until the dispatcher sets it
    approximate = models.BooleanField(_("position approximate"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.REQUESTED)
    unit = models.ForeignKey(RescueUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    crew_accepted_at = models.DateTimeField(_("crew accepted at"), null=True, blank=True)
    promised_at = models.DateTimeField(_("promised arrival"), null=True, blank=True)
    promised_km = models.DecimalField(_("distance at dispatch (km)"), max_digits=7, decimal_places=2, null=True, blank=True)
    eta_at = models.DateTimeField(_("expected arrival"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    work_done = models.CharField(_("what was done"), max_length=500, blank=True)
    signature = models.FileField(_("signature"), upload_to=_signature_path, blank=True)
    signer_name = models.CharField(_("signed by"), max_length=60, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    # the telematics alert that opened this case (a draft for the call centre); one case per alert
    telematics_alert_id = models.BigIntegerField(_("telematics alert"), null=True, blank=True, unique=True)
    shift = models.ForeignKey(UnitShift, verbose_name=_("shift"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    handover = models.OneToOneField("reception.Handover", verbose_name=_("handover sheet"), null=True, blank=True, on_delete=models.SET_NULL, related_name="rescue_case")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("rescue case")
        verbose_name_plural = _("rescue cases")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("dispatch_rescuecase", _("Can dispatch rescue units")),
            ("crew_rescuecase", _("Can work rescue jobs as crew")),
        ]
        indexes = [models.Index(fields=["store", "status"], name="rescue_case_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180), name="rescue_case_wgs84"),
            # telematics alerts never open a second case for a car that already has an open one from telematics
            models.UniqueConstraint(
                fields=["vehicle"], condition=models.Q(source=Source.TELEMATICS, status__in=[
                    CaseStatus.DRAFT, CaseStatus.REQUESTED, CaseStatus.ACCEPTED, CaseStatus.DISPATCHED, CaseStatus.EN_ROUTE,
                    CaseStatus.ON_SCENE, CaseStatus.TOWING, CaseStatus.AT_STORE, CaseStatus.FIXED]),
                name="rescue_one_open_telematics_case"),
        ]

    def __str__(self) -> str:
        return self.number


class RescueEvent(models.Model):
    """Every move of a case, with time and place (the customer's timeline and the audit trail)."""

    case = models.ForeignKey(RescueCase, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()
    lat = models.DecimalField(null=True, blank=True, **LAT)
    lng = models.DecimalField(null=True, blank=True, **LAT)

    class Meta:
        verbose_name = _("rescue event")
        verbose_name_plural = _("rescue events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_state}→{self.to_state}"


class UnitPosition(models.Model):
    """A position the crew's phone posted while on a job (never off a job)."""

    unit = models.ForeignKey(RescueUnit, on_delete=models.CASCADE, related_name="positions")
    case = models.ForeignKey(RescueCase, on_delete=models.CASCADE, related_name="positions")
    lat = models.DecimalField(**LAT)
    lng = models.DecimalField(**LAT)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("unit position")
        verbose_name_plural = _("unit positions")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "-at"], name="rescue_position_case_idx")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.lat},{self.lng}"


def _photo_path(instance: RescuePhoto, filename: str) -> str:
    return f"rescue/{instance.case_id}/photos/{filename}"


class RescuePhoto(models.Model):
    case = models.ForeignKey(RescueCase, verbose_name=_("rescue case"), on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_photo_path)
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    by_customer = models.BooleanField(_("taken by the customer"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("rescue photo")
        verbose_name_plural = _("rescue photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


class RescueAlert(models.Model):
    """A task for the dispatcher raised by the escalation sweep (once per case and kind)."""

    case = models.ForeignKey(RescueCase, verbose_name=_("rescue case"), on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=16, choices=AlertKind.choices)
    raised_at = models.DateTimeField(_("raised at"))
    minutes_late = models.PositiveIntegerField(_("minutes late"), default=0)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    done_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rescue alert")
        verbose_name_plural = _("rescue alerts")
        ordering = ["-raised_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="rescue_alert_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"
