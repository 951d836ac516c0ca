from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "aftersales.portal"
    label = "portal"
    verbose_name = _("Owner app")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aftersales.customers.selectors import register_export_section

        from .exports import sections

        # the staff export and "download my data" include what the retention apps hold (docs/portal.md)
        register_export_section(sections)
