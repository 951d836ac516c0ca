from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "aftersales.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty and referrals")

    def ready(self) -> None:
        from aftersales.common import events
        from aftersales.mobility.vouchers import provide_voucher_check

        from .pickup import pickup_voucher_check
        from .services import on_invoice_paid, on_money_returned

        # A pickup voucher checked when the pickup is ordered (mobility; issue 19: mobility does not import us).
        provide_voucher_check(pickup_voucher_check)

        # Points for a paid invoice, taken back for a refund or credit note (in a worker; docs/events.md).
        events.subscribe(events.InvoicePaid, on_invoice_paid, background=True)
        events.subscribe(events.MoneyReturned, on_money_returned, background=True)
