from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RescueConfig(AppConfig):
    name = "aftersales.rescue"
    label = "rescue"
    verbose_name = _("Rescue")
