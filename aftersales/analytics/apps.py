from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "aftersales.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from aftersales.common import events

        from . import facts

        # a change that can move a past day's rollups or staff facts marks that store-day; the task refresh_dirty
        # recomputes each marked store-day once (docs/events.md, docs/analytics.md). One batch per transaction: a
        # request that moves an order, its job and its invoice reads the order once and writes its marks once.
        for event in (events.OrderMoved, events.OrderDelivered, events.JobMoved, events.InvoicePaid,
                      events.MoneyReturned, events.FollowUpAnswered, events.CaseMoved):
            events.subscribe(event, facts.on_changes, background=True, batch=True)


#: the navigation link in the base template (kept here so this app's catalogue carries its translation)
NAV_LABEL = _("Cockpit")
