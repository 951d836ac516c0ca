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
