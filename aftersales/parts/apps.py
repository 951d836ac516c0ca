from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartsConfig(AppConfig):
    name = "aftersales.parts"
    label = "parts"
    verbose_name = _("Parts and inventory")

    def ready(self) -> None:
        from aftersales.messaging.attachments import register

        from .po_document import MESSAGE_KIND, po_attachments

        register(MESSAGE_KIND, po_attachments)  # the supplier's e-mail carries the purchase order's PDF
