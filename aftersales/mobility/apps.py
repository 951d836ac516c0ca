from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MobilityConfig(AppConfig):
    name = "aftersales.mobility"
    label = "mobility"
    verbose_name = _("Mobility")
