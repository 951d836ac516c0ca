from django.db import models
from django.utils.translation import gettext_lazy as _


class Title(models.TextChoices):
    MR = "mr", _("Mr")
    MS = "ms", _("Ms")
    NONE = "", _("(none)")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    APP = "app", _("App / portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")


class ConsentPurpose(models.TextChoices):
    SERVICE = "service", _("Service messages")
    MARKETING = "marketing", _("Marketing messages")


class ConsentSource(models.TextChoices):
    IN_STORE = "in_store", _("In store (signed form)")
    PHONE = "phone", _("Phone call")
    PORTAL = "portal", _("Portal / app")
    WECHAT = "wechat", _("WeChat")
    IMPORT = "import", _("Imported")
    OPT_OUT = "opt_out", _("Opt-out from a message")


class ReminderFrequency(models.TextChoices):
    """How often the customer wants care reminders (the daily care sweep honours it; issue 14, item 4)."""

    ALL = "all", _("Every reminder (service, inspection, insurance, warranty, greetings)")
    ESSENTIAL = "essential", _("Only what the car needs (service, inspection, insurance, warranty, recommended work)")
    NONE = "none", _("No reminders (the store may call)")


class ProgressFrequency(models.TextChoices):
    """How often the customer wants a message while the car is in the workshop (the status page always shows all)."""

    EVERY_STEP = "every_step", _("Every step of the work")
    KEY = "key", _("When the work starts and when the car is ready")
    READY = "ready", _("Only when the car is ready")
