from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkshopConfig(AppConfig):
    name = "aftersales.workshop"
    label = "workshop"
    verbose_name = _("Workshop")

    def ready(self) -> None:
        # booking capacity sees the live floor (cars in bays, technicians on jobs), not only the bookings
        from aftersales.appointments.availability import register_live_floor
        from aftersales.common.names import provide_order_part_names
        from aftersales.customers.selectors import register_export_section

        from .exports import repair_orders_section
        from .floor_selectors import live_floor_busy
        from .names import order_part_names

        register_live_floor(live_floor_busy)
        provide_order_part_names(order_part_names)  # a part's line in the reader's language (common.names)
        register_export_section(repair_orders_section)  # the customer's repair orders in their data export
