from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkshopConfig(AppConfig):
    name = "aftersales.workshop"
    label = "workshop"
    verbose_name = _("Workshop")

    def ready(self) -> None:
        # booking capacity sees the live floor (cars in bays, technicians on jobs), not only the bookings
        from aftersales.appointments.availability import register_live_floor

        from .floor_selectors import live_floor_busy

        register_live_floor(live_floor_busy)
