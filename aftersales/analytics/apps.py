from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "aftersales.analytics"
    label = "analytics"
    verbose_name = _("Analytics")


#: the navigation link in the base template (kept here so this app's catalogue carries its translation)
NAV_LABEL = _("Cockpit")
