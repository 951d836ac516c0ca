"""Labour guide, estimates sent to the customer, authorizations with their snapshot, additional-work photos,
option groups (the customer picks one job of a group) and re-proposed declined recommendations.

The jobs and lines themselves are the workshop's (RepairJob / RepairLine); this app links to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField
from aftersales.staff.models import Certificate, Skill
from aftersales.workshop.choices import JobType

from .choices import AuthorizationMethod, EstimateKind, EstimateStatus

MONEY = {"max_digits": 12, "decimal_places": 2}


class LabourOperation(models.Model):
    """An operation of the labour guide (工时目录): standard hours, job type, required skill and the parts it needs."""

    group = models.ForeignKey("stores.DealerGroup", verbose_name=_("dealer group"), on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("code"), max_length=30)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    standard_hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2)
    job_type = models.CharField(_("job type"), max_length=12, choices=JobType.choices, default=JobType.REPAIR)
    required_skill = models.CharField(_("required skill"), max_length=20, choices=Skill.choices, blank=True)
    required_certificate = models.CharField(
        _("required certificate"), max_length=20, choices=Certificate.choices, blank=True,
        help_text=_("Jobs from this operation go only to technicians holding a valid certificate of this kind."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("labour operation")
        verbose_name_plural = _("labour operations")
        ordering = ["group_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["group", "code"], name="labour_op_code_unique_in_group"),
            models.CheckConstraint(condition=models.Q(standard_hours__gt=0), name="labour_op_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_zh


class LabourOperationPart(models.Model):
    operation = models.ForeignKey(LabourOperation, verbose_name=_("labour operation"), on_delete=models.CASCADE, related_name="parts")
    part = models.ForeignKey("parts.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=2, default=1)

    class Meta:
        verbose_name = _("part of an operation")
        verbose_name_plural = _("parts of an operation")
        constraints = [
            models.UniqueConstraint(fields=["operation", "part"], name="labour_op_part_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="labour_op_part_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.part_id}"


class LabourRate(models.Model):
    """The price of one hour of labour at a store for a job type (a missing type uses the store's repair rate)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    job_type = models.CharField(_("job type"), max_length=12, choices=JobType.choices)
    rate = models.DecimalField(_("rate per hour"), **MONEY)

    class Meta:
        verbose_name = _("labour rate")
        verbose_name_plural = _("labour rates")
        ordering = ["store_id", "job_type"]
        constraints = [
            models.UniqueConstraint(fields=["store", "job_type"], name="labour_rate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="labour_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.job_type} {self.rate}"


class OptionGroup(models.Model):
    """Alternatives for one need (OEM vs aftermarket pads; good / better / best): the customer approves one at most."""

    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="option_groups")
    title = models.CharField(_("title"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("option group")
        verbose_name_plural = _("option groups")
        ordering = ["order_id", "id"]

    def __str__(self) -> str:
        return self.title


class JobOption(models.Model):
    job = models.OneToOneField("workshop.RepairJob", verbose_name=_("job"), on_delete=models.CASCADE, related_name="option")
    group = models.ForeignKey(OptionGroup, verbose_name=_("option group"), on_delete=models.CASCADE, related_name="options")
    label = models.CharField(_("option"), max_length=60)
    is_recommended = models.BooleanField(_("recommended"), default=False)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["group_id", "id"]

    def __str__(self) -> str:
        return self.label


class Estimate(models.Model):
    """One request for the customer's decision on an order's proposed jobs. ``version`` goes up at every sending,
    so a link sent before a revision stops working."""

    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="estimates")
    kind = models.CharField(_("kind"), max_length=12, choices=EstimateKind.choices, default=EstimateKind.INITIAL)
    status = models.CharField(_("status"), max_length=12, choices=EstimateStatus.choices, default=EstimateStatus.DRAFT)
    version = models.PositiveIntegerField(_("version"), default=0)
    note = models.CharField(_("note to the customer"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    jobs = models.ManyToManyField("workshop.RepairJob", verbose_name=_("jobs"), related_name="estimates", blank=True)

    class Meta:
        verbose_name = _("estimate")
        verbose_name_plural = _("estimates")
        ordering = ["order_id", "id"]
        permissions = [("propose_additional_work", _("Can propose additional work found during the repair"))]
        constraints = [
            # at most one estimate per order is being prepared or waits for the customer
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(status__in=["draft", "sent"]), name="one_open_estimate_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.pk} v{self.version}"


class EstimateRevision(models.Model):
    """What the customer was sent, version by version: kept when the estimate is revised after sending (the
    customer approves the new version again; the old one stays readable here)."""

    estimate = models.ForeignKey(Estimate, verbose_name=_("estimate"), on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField(_("version"))
    sent_at = models.DateTimeField(_("sent at"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    total = models.DecimalField(_("total"), **MONEY)
    snapshot = models.JSONField(_("what was sent"), default=dict)
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("estimate version")
        verbose_name_plural = _("estimate versions")
        ordering = ["estimate_id", "version"]
        constraints = [models.UniqueConstraint(fields=["estimate", "version"], name="estimate_revision_unique")]

    def __str__(self) -> str:
        return f"{self.estimate_id} v{self.version}"


class EstimateEvent(models.Model):
    estimate = models.ForeignKey(Estimate, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("estimate event")
        verbose_name_plural = _("estimate events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.estimate_id}: {self.from_state}→{self.to_state}"


def signature_path(instance: Authorization, filename: str) -> str:
    return f"estimates/signatures/{instance.order_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class Authorization(models.Model):
    """The customer's decision on an estimate: who, when, how, and a snapshot of what was approved and its total."""

    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="authorizations")
    estimate = models.OneToOneField(Estimate, verbose_name=_("estimate"), on_delete=models.PROTECT, related_name="authorization")
    method = models.CharField(_("method"), max_length=10, choices=AuthorizationMethod.choices)
    signer_name = models.CharField(_("approved by"), max_length=80)
    signature = models.FileField(_("signature"), upload_to=signature_path, blank=True)
    phone_said = models.TextField(_("what was said"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    approved_total = models.DecimalField(_("approved total"), **MONEY)
    declined_total = models.DecimalField(_("declined total"), **MONEY)
    # an insured repair: of the approved total, what the insurer pays and the customer's share (what they approved)
    insurer_part = models.DecimalField(_("the insurer pays"), default=0, **MONEY)
    customer_share = models.DecimalField(_("the customer's share"), null=True, blank=True, **MONEY)
    snapshot = models.JSONField(_("what was approved"), default=dict)

    class Meta:
        verbose_name = _("authorization")
        verbose_name_plural = _("authorizations")
        ordering = ["order_id", "approved_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.method} {self.approved_total}"


class AuthorizationItem(models.Model):
    """The decision on one job: approved or declined, its amount then, and the aftermarket consent."""

    authorization = models.ForeignKey(Authorization, on_delete=models.CASCADE, related_name="items")
    job = models.ForeignKey("workshop.RepairJob", verbose_name=_("job"), on_delete=models.CASCADE, related_name="authorization_items")
    approved = models.BooleanField(_("approved"))
    amount = models.DecimalField(_("amount"), **MONEY)
    has_aftermarket = models.BooleanField(_("aftermarket parts"), default=False)
    aftermarket_consent = models.BooleanField(_("aftermarket parts accepted"), default=False)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("decision on a job")
        verbose_name_plural = _("decisions on jobs")
        constraints = [models.UniqueConstraint(fields=["authorization", "job"], name="auth_item_unique")]

    def __str__(self) -> str:
        return f"{self.job_id} {'+' if self.approved else '-'}"


def photo_path(instance: WorkPhoto, filename: str) -> str:
    return f"estimates/photos/{instance.order_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class WorkPhoto(models.Model):
    """A photo a technician took of additional work found during the repair."""

    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("workshop.RepairJob", verbose_name=_("job"), on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=photo_path)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["job_id", "id"]

    def __str__(self) -> str:
        return self.image.name


class Reproposal(models.Model):
    """A declined recommendation offered again on a later order (it then leaves the vehicle's declined list)."""

    source_job = models.ForeignKey("workshop.RepairJob", verbose_name=_("declined job"), on_delete=models.CASCADE, related_name="reproposals")
    new_job = models.OneToOneField("workshop.RepairJob", verbose_name=_("new job"), on_delete=models.CASCADE, related_name="reproposed_from")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("re-proposed recommendation")
        verbose_name_plural = _("re-proposed recommendations")

    def __str__(self) -> str:
        return f"{self.source_job_id}→{self.new_job_id}"


class DiagnosisModel(models.Model):
    """A preliminary-diagnosis model trained by the worker on a dealer group's repair history (issue 21 review: no
    training inside a request). Requests load the newest one; the lexicon alone answers while there is none.

    ``history_count`` / ``history_last_id`` are the version stamp of the history it learnt from: the worker trains
    again only when the stamp moved. ``payload`` is the pickled scikit-learn pipeline, signed with the project's key
    (``signature``) so that a row written by anyone else is never unpickled."""

    group = models.ForeignKey("stores.DealerGroup", on_delete=models.CASCADE, related_name="+")
    history_count = models.PositiveIntegerField()
    history_last_id = models.PositiveBigIntegerField()
    examples = models.PositiveIntegerField()
    classes = models.JSONField(default=list)
    majority = models.CharField(max_length=20)
    payload = models.BinaryField()
    signature = models.CharField(max_length=64)
    trained_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(default=0)

    class Meta:
        verbose_name = _("diagnosis model")
        verbose_name_plural = _("diagnosis models")
        constraints = [
            models.UniqueConstraint(fields=["group", "history_count", "history_last_id"], name="diagnosis_model_stamp_unique"),
        ]
        indexes = [models.Index(fields=["group", "-id"], name="diagnosis_model_latest")]

    def __str__(self) -> str:
        return f"{self.group_id}:{self.history_count}/{self.history_last_id}"


def fault_photo_path(instance: FaultPhoto, filename: str) -> str:
    return f"estimates/fault-photos/{instance.store_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class FaultPhoto(models.Model):
    """A photo the customer sent with their own description of the fault (the booking form, the owner app, the API):
    kept with the request (the appointment, or the repair order opened without one) and shown to the advisor beside
    the preliminary diagnosis. Stored upright, without EXIF (``common.uploads.check_image``)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+")
    appointment = models.ForeignKey(
        "appointments.Appointment", verbose_name=_("appointment"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="fault_photos",
    )
    order = models.ForeignKey(
        "workshop.RepairOrder", verbose_name=_("repair order"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="fault_photos",
    )
    image = models.FileField(_("photo"), upload_to=fault_photo_path)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("photo of the fault")
        verbose_name_plural = _("photos of the fault")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(appointment__isnull=False) | models.Q(order__isnull=False), name="fault_photo_has_a_request",
            ),
        ]

    def __str__(self) -> str:
        return self.image.name
