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
        # recomputes each marked store-day once (docs/events.md, docs/analytics.md)
        for order_event in (events.OrderMoved, events.OrderDelivered, events.JobMoved):
            events.subscribe(order_event, facts.on_order_changed, background=True)
        events.subscribe(events.InvoicePaid, facts.on_invoice_changed, background=True)
        events.subscribe(events.MoneyReturned, facts.on_invoice_changed, background=True)
        events.subscribe(events.FollowUpAnswered, facts.on_followup_answered, background=True)
        events.subscribe(events.CaseMoved, facts.on_case_moved, background=True)


#: the navigation link in the base template (kept here so this app's catalogue carries its translation)
NAV_LABEL = _("Cockpit")
