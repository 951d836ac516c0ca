from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "aftersales.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty and referrals")

    def ready(self) -> None:
        from aftersales.common import events

        from .services import on_invoice_paid, on_money_returned

        # Points for a paid invoice, taken back for a refund or credit note (in a worker; docs/events.md).
        events.subscribe(events.InvoicePaid, on_invoice_paid, background=True)
        events.subscribe(events.MoneyReturned, on_money_returned, background=True)
