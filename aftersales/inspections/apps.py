from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "aftersales.inspections"
    verbose_name = _("Inspections and quality control")

    def ready(self) -> None:
        from aftersales.common.names import provide_checklist_names
        from aftersales.workshop.status_links import register

        from .names import checklist_name_pairs
        from .report import status_page_links

        register(status_page_links)  # the report's link on the customer's status page
        provide_checklist_names(checklist_name_pairs)  # titles proposed from an inspection (common.names)
