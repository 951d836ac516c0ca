"""Damage assessment (SPEC §15): panels, damage types, severities, the repair decision, the photo angles and the
assessment's transition table."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AssessmentStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("assessment", "Being assessed")
    APPROVED = "approved", pgettext_lazy("assessment", "Approved")
    CANCELLED = "cancelled", pgettext_lazy("assessment", "Cancelled")


ASSESSMENT_TRANSITIONS: dict[str, set[str]] = {
    AssessmentStatus.DRAFT: {AssessmentStatus.APPROVED, AssessmentStatus.CANCELLED},
    AssessmentStatus.APPROVED: set(),
    AssessmentStatus.CANCELLED: set(),
}


class Panel(models.TextChoices):
    FRONT_BUMPER = "front_bumper", _("Front bumper")
    BONNET = "bonnet", _("Bonnet")
    WINDSCREEN = "windscreen", _("Windscreen")
    ROOF = "roof", _("Roof")
    REAR_WINDOW = "rear_window", _("Rear window")
    BOOT_LID = "boot_lid", _("Boot lid")
    REAR_BUMPER = "rear_bumper", _("Rear bumper")
    HEADLAMP_LEFT = "headlamp_l", _("Left headlamp")
    HEADLAMP_RIGHT = "headlamp_r", _("Right headlamp")
    TAILLAMP_LEFT = "taillamp_l", _("Left tail lamp")
    TAILLAMP_RIGHT = "taillamp_r", _("Right tail lamp")
    WING_FRONT_LEFT = "wing_fl", _("Left front wing")
    WING_FRONT_RIGHT = "wing_fr", _("Right front wing")
    DOOR_FRONT_LEFT = "door_fl", _("Left front door")
    DOOR_FRONT_RIGHT = "door_fr", _("Right front door")
    DOOR_REAR_LEFT = "door_rl", _("Left rear door")
    DOOR_REAR_RIGHT = "door_rr", _("Right rear door")
    QUARTER_LEFT = "quarter_l", _("Left rear quarter panel")
    QUARTER_RIGHT = "quarter_r", _("Right rear quarter panel")
    MIRROR_LEFT = "mirror_l", _("Left door mirror")
    MIRROR_RIGHT = "mirror_r", _("Right door mirror")


class DamageType(models.TextChoices):
    SCRATCH = "scratch", _("Scratch")
    DENT = "dent", _("Dent")
    CRACK = "crack", _("Crack")
    BROKEN = "broken", _("Broken or shattered")
    DEFORMED = "deformed", _("Deformed")
    MISSING = "missing", _("Missing part")


class Severity(models.TextChoices):
    LIGHT = "light", pgettext_lazy("damage", "Light")
    MODERATE = "moderate", pgettext_lazy("damage", "Moderate")
    SEVERE = "severe", pgettext_lazy("damage", "Severe")


class Action(models.TextChoices):
    REPAIR = "repair", pgettext_lazy("damage action", "Repair and paint")
    PAINT = "paint", pgettext_lazy("damage action", "Paint only")
    REPLACE = "replace", pgettext_lazy("damage action", "Replace")


class Angle(models.TextChoices):
    """The 8 standard angles of a damage survey, then close-ups."""

    FRONT = "front", _("Front")
    FRONT_RIGHT = "front_right", _("Front right")
    RIGHT = "right", _("Right side")
    REAR_RIGHT = "rear_right", _("Rear right")
    REAR = "rear", _("Rear")
    REAR_LEFT = "rear_left", _("Rear left")
    LEFT = "left", _("Left side")
    FRONT_LEFT = "front_left", _("Front left")
    CLOSE_UP = "close_up", _("Close-up of the damage")


STANDARD_ANGLES = [a for a in Angle.values if a != Angle.CLOSE_UP]


class PhotoSource(models.TextChoices):
    CAPTURE = "capture", _("Taken for the assessment")
    RESCUE = "rescue", _("From the rescue case")
    RECEPTION = "reception", _("From the handover sheet")
    OWNER = "owner", _("Sent by the owner")


class FindingSource(models.TextChoices):
    PROPOSER = "proposer", _("Suggestion")
    ASSESSOR = "assessor", _("Assessor")


class Decision(models.TextChoices):
    PENDING = "pending", _("To review")
    ACCEPTED = "accepted", _("Accepted")
    CHANGED = "changed", _("Accepted with changes")
    REJECTED = "rejected", _("Rejected")


class ProposerKind(models.TextChoices):
    NONE = "none", _("No suggestions (the assessor taps the panels)")
    MARKS = "marks", _("Suggest from the damage marked at reception (rules, not a model)")
    ONNX = "onnx", _("Image model on this server (ONNX file)")
    HTTP = "http", _("Vendor service (HTTPS)")
