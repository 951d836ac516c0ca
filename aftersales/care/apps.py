from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftersales.care"
    label = "care"
    verbose_name = _("Customer care")

    def ready(self) -> None:
        from aftersales.billing.care_plan import provide_maintenance_plan

        from .plans import order_maintenance_plan

        provide_maintenance_plan(order_maintenance_plan)  # the reminder card's next maintenance (billing; issue 19)
