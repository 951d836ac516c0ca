"""Choices of the telematics app: device protocols, rejection reasons, alert rules, severities and alert states."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Protocol(models.TextChoices):
    JSON_V1 = "json_v1", _("Our JSON schema (version 1)")
    GBT32960_JSON = "gbt32960", _("GB/T 32960 gateway (JSON form)")


class RejectReason(models.TextChoices):
    MALFORMED = "malformed", _("Malformed message")
    UNKNOWN_DEVICE = "unknown_device", _("Unknown device")
    REVOKED = "revoked", _("Device revoked")
    BAD_SIGNATURE = "bad_signature", _("Bad signature or credential")
    FUTURE = "future", _("Dated in the future")
    OUT_OF_ORDER = "out_of_order", _("Out of order")
    DUPLICATE = "duplicate", _("Duplicate")
    #: not a refusal: the message was taken, but an adapter left out fields it could not use (unknown or bad bits)
    IGNORED = "ignored", _("Taken, part of it ignored")


class Severity(models.TextChoices):
    CRITICAL = "critical", pgettext_lazy("fault severity", "Critical")
    IMPORTANT = "important", pgettext_lazy("fault severity", "Important")
    INFO = "info", pgettext_lazy("fault severity", "Informational")


SEVERITY_RANK: dict[str, int] = {Severity.CRITICAL: 0, Severity.IMPORTANT: 1, Severity.INFO: 2}


class RuleKind(models.TextChoices):
    BATTERY_LOW = "battery_low", _("Battery low at rest")
    MISFIRE = "misfire", _("Engine misfire")
    OVERHEATING = "overheating", _("Engine overheating")
    OIL_PRESSURE = "oil_pressure", _("Oil pressure")
    BRAKES = "brakes", _("Brakes")
    NEV_ALARM = "nev_alarm", _("New-energy alarm level 3")
    CRASH = "crash", _("Crash detected")
    AIRBAG = "airbag", _("Airbag deployed")
    OTHER_CODE = "other_code", _("Other fault code")


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    CLOSED = "closed", pgettext_lazy("alert status", "Closed")


ALERT_TRANSITIONS: dict[str, set[str]] = {
    AlertStatus.OPEN: {AlertStatus.CLOSED},
    AlertStatus.CLOSED: set(),
}


#: rules fired by one reading's flag (a crash, an airbag deployment): always critical, no readings in a row, and the
#: alert stays open until staff close it (the next reading without the flag does not mean the car is fine)
EVENT_RULES = (RuleKind.CRASH, RuleKind.AIRBAG)
