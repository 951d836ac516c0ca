from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "aftersales.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from aftersales.common import events

        from .services import on_attach_code_issued

        # The code another store asked for, texted to the customer (in the process: the event carries the code).
        events.subscribe(events.AttachCodeIssued, on_attach_code_issued)
