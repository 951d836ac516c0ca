from django.db import models
from django.utils.translation import gettext_lazy as _


class EstimateStatus(models.TextChoices):
    """An estimate is one request for the customer's decision: the first one after inspection, or additional work
    found mid-repair. Its link works only while it is SENT, and for the version it was sent with."""

    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent to the customer")
    DECIDED = "decided", _("Decided by the customer")
    CANCELLED = "cancelled", _("Withdrawn")


ESTIMATE_TRANSITIONS: dict[str, set[str]] = {
    EstimateStatus.DRAFT: {EstimateStatus.SENT, EstimateStatus.CANCELLED},
    # back to draft to revise it (the link sent dies: the version changes), or decided, or withdrawn
    EstimateStatus.SENT: {EstimateStatus.DECIDED, EstimateStatus.DRAFT, EstimateStatus.CANCELLED},
    EstimateStatus.DECIDED: set(),
    EstimateStatus.CANCELLED: set(),
}


class EstimateKind(models.TextChoices):
    INITIAL = "initial", _("Estimate")
    ADDITIONAL = "additional", _("Additional work")


class AuthorizationMethod(models.TextChoices):
    LINK = "link", _("Signed link on the customer's phone")
    TABLET = "tablet", _("Signed on the advisor's tablet")
    PHONE = "phone", _("Approved by phone")


class PartChoice(models.TextChoices):
    OEM = "oem", _("OEM parts")
    AFTERMARKET = "aftermarket", _("Aftermarket parts")
    BOTH = "both", _("Offer both (the customer picks)")
    NONE = "none", _("Labour only")
