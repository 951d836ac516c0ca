from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EstimatesConfig(AppConfig):
    name = "aftersales.estimates"
    label = "estimates"
    verbose_name = _("Estimates and authorization")

    def ready(self) -> None:
        from aftersales.common.names import provide_guide_names
        from aftersales.workshop.status_links import provide_status_url

        from .names import guide_name_pairs
        from .services import status_url

        provide_status_url(status_url)  # the link in workshop's progress messages (issue 19)
        provide_guide_names(guide_name_pairs)  # job titles in the reader's language (common.names)
