from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "aftersales.engagement"
    label = "engagement"
    verbose_name = _("Customer engagement")

    def ready(self) -> None:
        from aftersales.common import events
        from aftersales.customers.tiers import provide_tier_a

        from .selectors import is_tier_a
        from .services import on_paid_visit_changed

        # Tier A for the apps below engagement: the priority lane (appointments), the free pickup (mobility).
        provide_tier_a(is_tier_a)

        # A paid visit counted or its money changed: the customer's tier (in a worker; docs/events.md).
        events.subscribe(events.PaidVisitChanged, on_paid_visit_changed, background=True)
