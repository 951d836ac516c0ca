from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RescueConfig(AppConfig):
    name = "aftersales.rescue"
    label = "rescue"
    verbose_name = _("Rescue")

    def ready(self) -> None:
        from aftersales.common.events import TelematicsAlertOpened, subscribe

        from .services import on_telematics_alert

        # a critical crash / severe alarm opens a draft case for the call centre (telematics never imports rescue)
        subscribe(TelematicsAlertOpened, on_telematics_alert, background=True)
