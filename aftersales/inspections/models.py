"""Checklists (per store and service type, edited by a manager), inspections of a repair order with their items,
measurements and photos, the diagnosis report, and the quality checks before delivery with the rework they cause.

An inspection copies its checklist's items when it starts (names, units, thresholds), so editing a checklist later
never rewrites a report the customer has already seen.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.common.readtime import ReadTimeCharField

from .choices import ChecklistPurpose, InspectionStatus, ItemKind, QcResult, Rating


def _in(language: str, zh: str, en: str) -> str:
    return en if language == "en" and en else zh


class Thresholds(models.Model):
    """Colour limits of a measurement: red below / yellow below / yellow above / red above (any may be empty)."""

    unit = models.CharField(_("unit"), max_length=12, blank=True)
    red_below = models.DecimalField(_("red below"), max_digits=10, decimal_places=2, null=True, blank=True)
    yellow_below = models.DecimalField(_("yellow below"), max_digits=10, decimal_places=2, null=True, blank=True)
    yellow_above = models.DecimalField(_("yellow above"), max_digits=10, decimal_places=2, null=True, blank=True)
    red_above = models.DecimalField(_("red above"), max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def limits(self) -> dict[str, Decimal | None]:
        return {
            "red_below": self.red_below, "yellow_below": self.yellow_below,
            "yellow_above": self.yellow_above, "red_above": self.red_above,
        }


class Checklist(models.Model):
    """A store's checklist for a purpose (inspection or a quality check), linked to the service types it serves."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="checklists")
    purpose = models.CharField(_("purpose"), max_length=12, choices=ChecklistPurpose.choices, default=ChecklistPurpose.INSPECTION)
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    service_types = models.ManyToManyField(
        "appointments.ServiceType", verbose_name=_("service types"), blank=True, related_name="checklists"
    )
    for_ev = models.BooleanField(_("for electric vehicles"), default=False)
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("Used when no service type or fuel type picks another checklist.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["store_id", "purpose", "code"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="checklist_code_unique_in_store")]

    def __str__(self) -> str:
        return self.name_zh

    def name_in(self, language: str) -> str:
        return _in(language, self.name_zh, self.name_en)


class ChecklistGroup(models.Model):
    checklist = models.ForeignKey(Checklist, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="groups")
    seq = models.PositiveSmallIntegerField(_("position"), default=1)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("checklist group")
        verbose_name_plural = _("checklist groups")
        ordering = ["checklist_id", "seq", "id"]

    def __str__(self) -> str:
        return self.name_zh


class ChecklistItem(Thresholds):
    checklist = models.ForeignKey(Checklist, verbose_name=_("checklist"), on_delete=models.CASCADE, related_name="items")
    group = models.ForeignKey(ChecklistGroup, verbose_name=_("group"), on_delete=models.CASCADE, related_name="items")
    seq = models.PositiveSmallIntegerField(_("position"), default=1)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ItemKind.choices, default=ItemKind.CHECK)
    optional = models.BooleanField(_("may be marked not needed"), default=False)
    operation_code = models.CharField(
        _("labour operation when red or yellow"), max_length=30, blank=True,
        help_text=_("Code of the labour guide's operation (with its parts) proposed when this item is red or yellow."),
    )

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["checklist_id", "group__seq", "seq", "id"]

    def __str__(self) -> str:
        return self.name_zh


class Inspection(models.Model):
    """The inspection of a repair order's vehicle (检测) with its diagnosis report (诊断报告)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="inspections")
    order = models.ForeignKey(
        "workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="inspections"
    )
    checklist = models.ForeignKey(
        Checklist, verbose_name=_("checklist"), null=True, blank=True, on_delete=models.SET_NULL, related_name="inspections"
    )
    checklist_name_zh = models.CharField(_("checklist (Chinese)"), max_length=80)
    checklist_name_en = models.CharField(_("checklist (English)"), max_length=80, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=InspectionStatus.choices, default=InspectionStatus.IN_PROGRESS)
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    symptoms = models.TextField(_("symptoms"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    likely_causes = models.TextField(_("likely causes"), blank=True)
    recommended_work = models.TextField(_("recommended work"), blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=0, help_text=_("Counts completions (a reopened report is sent again)."))
    report_sent_at = models.DateTimeField(_("report sent at"), null=True, blank=True)
    report_sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("report sent by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_revision = models.PositiveIntegerField(_("revision sent"), default=0)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-started_at", "-id"]
        permissions = [("send_report", _("Can send inspection reports to customers"))]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=~models.Q(status="cancelled"), name="inspection_one_open_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "status", "completed_at"], name="insp_store_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order} · {self.checklist_name_zh}"

    def checklist_name_in(self, language: str) -> str:
        return _in(language, self.checklist_name_zh, self.checklist_name_en)

    @property
    def report_is_current(self) -> bool:
        """The customer has been sent the latest completed version."""
        return self.report_sent_at is not None and self.sent_revision == self.revision


class InspectionEvent(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = ReadTimeCharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inspection event")
        verbose_name_plural = _("inspection events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} → {self.to_state}"


class InspectionItem(Thresholds):
    """One checked item: its colour, measurement (auto-coloured, overridable with a note), notes and photos."""

    inspection = models.ForeignKey(Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="items")
    template_item = models.ForeignKey(ChecklistItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    seq = models.PositiveSmallIntegerField(_("position"), default=1)
    group_zh = models.CharField(_("group (Chinese)"), max_length=60, blank=True)
    group_en = models.CharField(_("group (English)"), max_length=60, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ItemKind.choices, default=ItemKind.CHECK)
    rating = models.CharField(_("rating"), max_length=6, choices=Rating.choices, blank=True)
    value = models.DecimalField(_("measurement"), max_digits=10, decimal_places=2, null=True, blank=True)
    auto_rating = models.CharField(_("colour from the thresholds"), max_length=6, choices=Rating.choices, blank=True)
    override_note = models.CharField(_("why the colour differs from the measurement"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("checked by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    job = models.ForeignKey(
        "workshop.RepairJob", verbose_name=_("proposed job"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="inspection_items",
    )

    class Meta:
        verbose_name = _("inspection item")
        verbose_name_plural = _("inspection items")
        ordering = ["inspection_id", "seq", "id"]

    def __str__(self) -> str:
        return self.name_zh

    def name_in(self, language: str) -> str:
        return _in(language, self.name_zh, self.name_en)

    def group_in(self, language: str) -> str:
        return _in(language, self.group_zh, self.group_en)

    @property
    def overridden(self) -> bool:
        return bool(self.auto_rating) and self.rating != self.auto_rating


def photo_path(instance: InspectionPhoto, filename: str) -> str:
    """inspections/<store>/<yyyy>/<mm>/<uuid>.<ext>: unguessable, never the uploader's file name."""
    now = timezone.now()
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(instance.content_type, "bin")
    return f"inspections/{instance.inspection.store_id}/{now:%Y/%m}/{uuid.uuid4().hex}.{ext}"


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(InspectionItem, verbose_name=_("item"), on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("photo"), upload_to=photo_path, max_length=200)
    content_type = models.CharField(_("type"), max_length=30)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["item_id", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.file.name


class QcCheck(models.Model):
    """A signed quality check of an order: self-check, peer check, final QC or cleaning, with its items."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="qc_checks")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="qc_checks")
    kind = models.CharField(_("check"), max_length=12, choices=ChecklistPurpose.choices)
    cycle = models.PositiveSmallIntegerField(
        _("round"), default=1, help_text=_("1 for the first pass; every failed check starts a new round after the rework.")
    )
    result = models.CharField(_("result"), max_length=4, choices=QcResult.choices)
    checklist_name_zh = models.CharField(_("checklist (Chinese)"), max_length=80, blank=True)
    checklist_name_en = models.CharField(_("checklist (English)"), max_length=80, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("signed by"), on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)

    class Meta:
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")
        ordering = ["order_id", "signed_at", "id"]
        permissions = [
            ("sign_self_check", _("Can sign the technician self-check")),
            ("sign_peer_check", _("Can sign the peer / team-lead check")),
            ("sign_final_qc", _("Can sign the final QC")),
            ("sign_cleaning", _("Can sign the cleaning checklist")),
        ]
        constraints = [
            # one passed check of each kind per round: a double submit cannot pass twice
            models.UniqueConstraint(
                fields=["order", "kind", "cycle"], condition=models.Q(result="pass"), name="qc_one_pass_per_round"
            ),
        ]
        indexes = [models.Index(fields=["store", "kind", "signed_at"], name="qc_store_kind_idx")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind} {self.result}"

    def checklist_name_in(self, language: str) -> str:
        return _in(language, self.checklist_name_zh, self.checklist_name_en)


class QcCheckItem(models.Model):
    qc_check = models.ForeignKey(QcCheck, verbose_name=_("quality check"), on_delete=models.CASCADE, related_name="items")
    seq = models.PositiveSmallIntegerField(_("position"), default=1)
    group_zh = models.CharField(_("group (Chinese)"), max_length=60, blank=True)
    group_en = models.CharField(_("group (English)"), max_length=60, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    result = models.CharField(_("result"), max_length=4, choices=QcResult.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("quality check item")
        verbose_name_plural = _("quality check items")
        ordering = ["qc_check_id", "seq", "id"]

    def __str__(self) -> str:
        return self.name_zh

    def name_in(self, language: str) -> str:
        return _in(language, self.name_zh, self.name_en)


class Rework(models.Model):
    """A job sent back by a failed check: recorded and counted (rework per order and technician, first-time fix)."""

    store = models.ForeignKey("stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("workshop.RepairOrder", verbose_name=_("repair order"), on_delete=models.PROTECT, related_name="reworks")
    job = models.ForeignKey("workshop.RepairJob", verbose_name=_("job"), on_delete=models.PROTECT, related_name="reworks")
    qc_check = models.ForeignKey(QcCheck, verbose_name=_("quality check"), on_delete=models.PROTECT, related_name="reworks")
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("technician"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("rework")
        verbose_name_plural = _("reworks")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["store", "at"], name="rework_store_at_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.job_id}"
