"""Damage assessment (SPEC §15): panels, damage types, severities, the repair decision, the photo angles and the
assessment's transition table."""

from django.db import models
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
    FRONT_BUMPER = "front_bumper", pgettext_lazy("damage", "Front bumper")
    BONNET = "bonnet", pgettext_lazy("damage", "Bonnet")
    WINDSCREEN = "windscreen", pgettext_lazy("damage", "Windscreen")
    ROOF = "roof", pgettext_lazy("damage", "Roof")
    REAR_WINDOW = "rear_window", pgettext_lazy("damage", "Rear window")
    BOOT_LID = "boot_lid", pgettext_lazy("damage", "Boot lid")
    REAR_BUMPER = "rear_bumper", pgettext_lazy("damage", "Rear bumper")
    HEADLAMP_LEFT = "headlamp_l", pgettext_lazy("damage", "Left headlamp")
    HEADLAMP_RIGHT = "headlamp_r", pgettext_lazy("damage", "Right headlamp")
    TAILLAMP_LEFT = "taillamp_l", pgettext_lazy("damage", "Left tail lamp")
    TAILLAMP_RIGHT = "taillamp_r", pgettext_lazy("damage", "Right tail lamp")
    WING_FRONT_LEFT = "wing_fl", pgettext_lazy("damage", "Left front wing")
    WING_FRONT_RIGHT = "wing_fr", pgettext_lazy("damage", "Right front wing")
    DOOR_FRONT_LEFT = "door_fl", pgettext_lazy("damage", "Left front door")
    DOOR_FRONT_RIGHT = "door_fr", pgettext_lazy("damage", "Right front door")
    DOOR_REAR_LEFT = "door_rl", pgettext_lazy("damage", "Left rear door")
    DOOR_REAR_RIGHT = "door_rr", pgettext_lazy("damage", "Right rear door")
    QUARTER_LEFT = "quarter_l", pgettext_lazy("damage", "Left rear quarter panel")
    QUARTER_RIGHT = "quarter_r", pgettext_lazy("damage", "Right rear quarter panel")
    MIRROR_LEFT = "mirror_l", pgettext_lazy("damage", "Left door mirror")
    MIRROR_RIGHT = "mirror_r", pgettext_lazy("damage", "Right door mirror")


class DamageType(models.TextChoices):
    SCRATCH = "scratch", pgettext_lazy("damage", "Scratch")
    DENT = "dent", pgettext_lazy("damage", "Dent")
    CRACK = "crack", pgettext_lazy("damage", "Crack")
    BROKEN = "broken", pgettext_lazy("damage", "Broken or shattered")
    DEFORMED = "deformed", pgettext_lazy("damage", "Deformed")
    MISSING = "missing", pgettext_lazy("damage", "Missing part")


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

    FRONT = "front", pgettext_lazy("damage", "Front")
    FRONT_RIGHT = "front_right", pgettext_lazy("damage", "Front right")
    RIGHT = "right", pgettext_lazy("damage", "Right side")
    REAR_RIGHT = "rear_right", pgettext_lazy("damage", "Rear right")
    REAR = "rear", pgettext_lazy("damage", "Rear")
    REAR_LEFT = "rear_left", pgettext_lazy("damage", "Rear left")
    LEFT = "left", pgettext_lazy("damage", "Left side")
    FRONT_LEFT = "front_left", pgettext_lazy("damage", "Front left")
    CLOSE_UP = "close_up", pgettext_lazy("damage", "Close-up of the damage")


STANDARD_ANGLES = [a for a in Angle.values if a != Angle.CLOSE_UP]


class PhotoSource(models.TextChoices):
    CAPTURE = "capture", pgettext_lazy("damage", "Taken for the assessment")
    RESCUE = "rescue", pgettext_lazy("damage", "From the rescue case")
    RECEPTION = "reception", pgettext_lazy("damage", "From the handover sheet")
    OWNER = "owner", pgettext_lazy("damage", "Sent by the owner")


class FindingSource(models.TextChoices):
    PROPOSER = "proposer", pgettext_lazy("damage", "Suggestion")
    ASSESSOR = "assessor", pgettext_lazy("damage", "Assessor")


class Decision(models.TextChoices):
    PENDING = "pending", pgettext_lazy("damage", "To review")
    ACCEPTED = "accepted", pgettext_lazy("damage", "Accepted")
    CHANGED = "changed", pgettext_lazy("damage", "Accepted with changes")
    REJECTED = "rejected", pgettext_lazy("damage", "Rejected")


class ProposerKind(models.TextChoices):
    NONE = "none", pgettext_lazy("damage", "No suggestions (the assessor taps the panels)")
    MARKS = "marks", pgettext_lazy("damage", "Suggest from the damage marked at reception (rules, not a model)")
    ONNX = "onnx", pgettext_lazy("damage", "Image model on this server (ONNX file)")
    HTTP = "http", pgettext_lazy("damage", "Vendor service (HTTPS)")


class ShareDecision(models.TextChoices):
    """The owner's answer to their share (the estimate less what the insurer approves), behind the signed link."""

    APPROVED = "approved", pgettext_lazy("customer share", "Approved")
    DECLINED = "declined", pgettext_lazy("customer share", "Declined")
