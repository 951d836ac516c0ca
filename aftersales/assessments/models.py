"""Damage assessment: a store's assessment settings (baseline time, proposer), its rule table, assessments with their
photos and findings (the proposer's and the assessor's, side by side so that a model can be judged)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    Action,
    Angle,
    AssessmentStatus,
    DamageType,
    Decision,
    FindingSource,
    Panel,
    PhotoSource,
    ProposerKind,
    Severity,
    ShareDecision,
)

MONEY = {"max_digits": 12, "decimal_places": 2}


class AssessmentSettings(models.Model):
    store = models.OneToOneField("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="assessment_settings")
    baseline_minutes = models.PositiveIntegerField(
        _("baseline assessment time (minutes)"), default=60,
        help_text=_("How long an assessment took before (first photo to approval); the target is 60 per cent less."))
    proposer = models.CharField(_("suggestions from"), max_length=10, choices=ProposerKind.choices, default=ProposerKind.MARKS)
    model_path = models.CharField(_("model file (ONNX)"), max_length=300, blank=True)
    service_url = models.URLField(_("vendor service address"), blank=True)

    class Meta:
        verbose_name = _("assessment settings")
        verbose_name_plural = _("assessment settings")

    def __str__(self) -> str:
        return str(self.store)


class DamageRule(models.Model):
    """Panel × damage × severity → repair, paint or replace, with the labour (an operation of the labour guide or
    hours) and the catalogue part to order. Kept by the manager; the store's rows win over the built-in table."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="damage_rules")
    panel = models.CharField(_("panel"), max_length=12, choices=Panel.choices)
    damage_type = models.CharField(_("damage"), max_length=10, choices=DamageType.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    action = models.CharField(_("decision"), max_length=10, choices=Action.choices)
    hours = models.DecimalField(_("labour hours"), max_digits=5, decimal_places=2, default=Decimal("1.00"))
    operation = models.ForeignKey("estimates.LabourOperation", verbose_name=_("labour operation"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=6, decimal_places=2, default=Decimal("1"))

    class Meta:
        verbose_name = _("damage rule")
        verbose_name_plural = _("damage rules")
        ordering = ["store", "panel", "damage_type", "severity"]
        constraints = [models.UniqueConstraint(fields=["store", "panel", "damage_type", "severity"], name="damage_rule_unique")]

    def __str__(self) -> str:
        return f"{self.panel}/{self.damage_type}/{self.severity}→{self.action}"


class Assessment(models.Model):
    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="assessments")
    number = models.CharField(_("number"), max_length=24, unique=True)
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="assessments")
    vehicle = models.ForeignKey("vehicles.Vehicle", verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="assessments")
    rescue_case = models.ForeignKey("rescue.RescueCase", verbose_name=_("rescue case"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="assessments")
    handover = models.ForeignKey("reception.Handover", verbose_name=_("handover sheet"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assessments")
    status = models.CharField(_("status"), max_length=10, choices=AssessmentStatus.choices, default=AssessmentStatus.DRAFT)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_photo_at = models.DateTimeField(_("first photo at"), null=True, blank=True)
    proposed_at = models.DateTimeField(_("suggested at"), null=True, blank=True)
    proposer_name = models.CharField(_("suggested by"), max_length=60, blank=True)
    proposer_version = models.CharField(_("version"), max_length=40, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    minutes = models.PositiveIntegerField(_("assessment time (minutes)"), null=True, blank=True)
    baseline_minutes = models.PositiveIntegerField(_("baseline (minutes)"), null=True, blank=True)
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    total = models.DecimalField(_("estimate total"), default=Decimal("0"), **MONEY)
    # insurance
    insurer = models.CharField(_("insurer"), max_length=80, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=40, blank=True)
    claim_number = models.CharField(_("claim number"), max_length=40, blank=True)
    insurer_assessor = models.CharField(_("insurer's assessor"), max_length=60, blank=True)
    insurer_approved = models.DecimalField(_("amount the insurer approves"), null=True, blank=True, **MONEY)
    note = models.CharField(_("note"), max_length=500, blank=True)
    # the owner's answer to their share, behind the signed link (the report PDF goes with it)
    report_sent_at = models.DateTimeField(_("report sent at"), null=True, blank=True)
    share_decision = models.CharField(_("customer's decision on their share"), max_length=10, choices=ShareDecision.choices, blank=True)
    share_amount = models.DecimalField(_("customer's share decided on"), null=True, blank=True, **MONEY)
    share_decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    share_signer = models.CharField(_("signed by"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("damage assessment")
        verbose_name_plural = _("damage assessments")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_assessment", _("Can approve damage assessments"))]
        indexes = [models.Index(fields=["store", "status"], name="assessment_status_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def customer_share(self) -> Decimal | None:
        if self.insurer_approved is None:
            return None
        return max(self.total - self.insurer_approved, Decimal("0"))

    @property
    def insurer_part(self) -> Decimal:
        """What the insurer pays of the estimate (never more than the estimate)."""
        return min(self.insurer_approved or Decimal("0"), self.total)

    @property
    def owner_part(self) -> Decimal:
        """The owner's share: the whole estimate when no insurer approves an amount."""
        return self.total - self.insurer_part


def _photo_path(instance: AssessmentPhoto, filename: str) -> str:
    return f"assessments/{instance.assessment_id}/{filename}"


class AssessmentPhoto(models.Model):
    assessment = models.ForeignKey(Assessment, verbose_name=_("damage assessment"), on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_photo_path)
    angle = models.CharField(_("angle"), max_length=12, choices=Angle.choices, default=Angle.CLOSE_UP)
    source = models.CharField(_("source"), max_length=10, choices=PhotoSource.choices, default=PhotoSource.CAPTURE)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    # the damaged areas the assessor marked on the photo: [{"x", "y", "w", "h"}] as fractions of the width and height
    outlines = models.JSONField(_("outlines"), default=list, blank=True)

    class Meta:
        verbose_name = _("assessment photo")
        verbose_name_plural = _("assessment photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.image.name


class Finding(models.Model):
    """A damage on a panel. The proposer's findings stay as they were proposed (with their decision); the assessor's
    are the final ones (``proposal`` links one taken from a suggestion), so the two can be compared."""

    assessment = models.ForeignKey(Assessment, verbose_name=_("damage assessment"), on_delete=models.CASCADE, related_name="findings")
    source = models.CharField(_("source"), max_length=10, choices=FindingSource.choices)
    panel = models.CharField(_("panel"), max_length=12, choices=Panel.choices)
    damage_type = models.CharField(_("damage"), max_length=10, choices=DamageType.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    action = models.CharField(_("decision"), max_length=10, choices=Action.choices)
    hours = models.DecimalField(_("labour hours"), max_digits=5, decimal_places=2, default=Decimal("0"))
    confidence = models.DecimalField(_("confidence"), max_digits=4, decimal_places=3, null=True, blank=True)
    outline = models.JSONField(_("outline"), default=list, blank=True)
    model_name = models.CharField(_("model"), max_length=60, blank=True)
    model_version = models.CharField(_("model version"), max_length=40, blank=True)
    photo = models.ForeignKey(AssessmentPhoto, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    decision = models.CharField(_("review"), max_length=10, choices=Decision.choices, default=Decision.PENDING)
    proposal = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="taken_as")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("damage finding")
        verbose_name_plural = _("damage findings")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.panel} {self.damage_type} {self.severity}"
