from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "aftersales.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from aftersales.parts.invoiced import provide_invoiced_check
        from aftersales.workshop.status_links import register

        from .invoiced import order_has_invoice
        from .public_documents import status_page_links

        register(status_page_links)  # the invoice's link on the customer's status page
        provide_invoiced_check(order_has_invoice)  # a part returned from a job is refused once invoiced (parts)
