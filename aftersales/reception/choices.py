from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HandoverStatus(models.TextChoices):
    DRAFT = "draft", _("Being filled in")
    AWAITING_SIGNATURE = "awaiting_signature", _("Waiting for the customer's signature")
    SIGNED = "signed", _("Signed by the customer")


HANDOVER_TRANSITIONS: dict[str, set[str]] = {
    HandoverStatus.DRAFT: {HandoverStatus.AWAITING_SIGNATURE, HandoverStatus.SIGNED},
    # editing the sheet after the link went out voids the link: back to draft
    HandoverStatus.AWAITING_SIGNATURE: {HandoverStatus.SIGNED, HandoverStatus.DRAFT},
    HandoverStatus.SIGNED: set(),
}


class Condition(models.TextChoices):
    GOOD = "good", pgettext_lazy("condition", "Good")
    FAIR = "fair", pgettext_lazy("condition", "Fair")
    POOR = "poor", pgettext_lazy("condition", "Poor")


class DamageKind(models.TextChoices):
    SCRATCH = "scratch", _("Scratch")
    DENT = "dent", _("Dent")
    CRACK = "crack", _("Crack")
    CHIP = "chip", _("Stone chip")
    RUST = "rust", _("Rust")
    MISSING = "missing", _("Missing part")
    OTHER = "other", _("Other damage")


class SignedVia(models.TextChoices):
    SCREEN = "screen", _("On the advisor's screen")
    LINK = "link", _("By link on the customer's phone")


class Since(models.TextChoices):
    TODAY = "today", _("Today")
    DAYS = "days", _("A few days")
    WEEKS = "weeks", _("A few weeks")
    MONTHS = "months", _("A month or more")
    NA = "na", _("Not applicable (service only)")


class Frequency(models.TextChoices):
    ALWAYS = "always", _("Always")
    OFTEN = "often", _("Often")
    SOMETIMES = "sometimes", _("Sometimes")
    ONCE = "once", _("Only once")
    NA = "na", pgettext_lazy("frequency", "Not applicable")


class DrivingCondition(models.TextChoices):
    COLD_START = "cold_start", _("Cold start")
    WARM = "warm", _("Engine warm")
    IDLE = "idle", _("At idle")
    ACCELERATING = "accelerating", _("Accelerating")
    HIGH_SPEED = "high_speed", _("At high speed")
    BRAKING = "braking", _("Braking")
    TURNING = "turning", _("Turning")
    BUMPS = "bumps", _("Over bumps")
    RAIN = "rain", _("In the rain")
    AC_ON = "ac_on", _("A/C on")
    CHARGING = "charging", _("While charging")


class ExtraRequest(models.TextChoices):
    """Extra needs the advisor adds at the inquiry; each becomes a proposed job at no charge."""

    WASH = "wash", _("Car wash")
    TYRE_PRESSURE = "tyre_pressure", _("Tyre pressure check")
    INTERIOR_CLEAN = "interior_clean", _("Interior cleaning")
    FLUIDS = "fluids", _("Top up washer fluid")
    KEEP_OLD_PARTS = "keep_old_parts", _("Keep the old parts for the customer")


# Requests that are services to the car (become jobs); the others are instructions kept on the order.
EXTRA_REQUEST_JOBS = (ExtraRequest.WASH, ExtraRequest.TYRE_PRESSURE, ExtraRequest.INTERIOR_CLEAN, ExtraRequest.FLUIDS)
