from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "aftersales.common"
    label = "common"
    verbose_name = _("Common")

    def ready(self) -> None:
        from django.core.checks import register

        from . import taskruns  # noqa: F401  (connects the Celery signals that keep TaskRun rows)
        from .checks import pdf_font_check, public_url_check

        register(public_url_check, deploy=False)
        register(pdf_font_check, deploy=False)
