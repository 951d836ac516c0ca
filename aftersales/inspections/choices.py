"""Inspection checklists, results and quality control (SPEC §4 and §7)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ChecklistPurpose(models.TextChoices):
    """What a checklist is for: the vehicle inspection, or one of the quality checks before delivery."""

    INSPECTION = "inspection", _("Vehicle inspection")
    SELF_CHECK = "self", _("Technician self-check")
    PEER_CHECK = "peer", _("Peer / team-lead check")
    FINAL_QC = "final", _("Final QC")
    CLEANING = "cleaning", _("Cleaning (exterior, interior, engine bay)")


QC_PURPOSES: tuple[str, ...] = (
    ChecklistPurpose.SELF_CHECK, ChecklistPurpose.PEER_CHECK, ChecklistPurpose.FINAL_QC, ChecklistPurpose.CLEANING,
)
# The three checks in their order; a failure of any of them sends the job back as rework.
QC_SEQUENCE: tuple[str, ...] = (ChecklistPurpose.SELF_CHECK, ChecklistPurpose.PEER_CHECK, ChecklistPurpose.FINAL_QC)


class ItemKind(models.TextChoices):
    CHECK = "check", _("Check (green / yellow / red)")
    MEASURE = "measure", _("Measurement with thresholds")


class Rating(models.TextChoices):
    """OK / attention / urgent (SPEC §4)."""

    GREEN = "green", _("OK")
    YELLOW = "yellow", _("Attention")
    RED = "red", _("Urgent")


class InspectionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", pgettext_lazy("inspection status", "In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", pgettext_lazy("inspection status", "Cancelled")


INSPECTION_TRANSITIONS: dict[str, set[str]] = {
    InspectionStatus.IN_PROGRESS: {InspectionStatus.COMPLETED, InspectionStatus.CANCELLED},
    InspectionStatus.COMPLETED: {InspectionStatus.IN_PROGRESS},  # reopened to correct an item
    InspectionStatus.CANCELLED: set(),
}


class QcResult(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NOT_APPLICABLE = "na", _("Not needed")
