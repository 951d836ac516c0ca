"""The customer 360 page, assembled at the top from each app's own selectors (issue 19, ARCHITECTURE habit 7): the
customer's records from ``customers``, the visits from ``workshop``, the messages from ``messaging``, the parts fitted
from ``parts``. A fixed number of queries whatever the customer's history (tests/test_customer_360_budget.py)."""

from __future__ import annotations

from typing import Any

from aftersales.billing.choices import InvoiceStatus
from aftersales.customers.selectors import ORDERS_ON_360, Customer360
from aftersales.customers.selectors import customer_360_records as customer_records
from aftersales.messaging.selectors import messages_for_customer
from aftersales.parts.reports import fitted_parts_by_vehicle
from aftersales.workshop.selectors import visits_for_customer


def customer_360(user: Any, customer_id: int) -> Customer360:
    """Everything the 360 page shows; only what ``user`` may see (the customer's scope is checked first: a customer
    of another store is a 404 before anything else is read)."""
    view = customer_records(user, customer_id)
    view.orders, view.totals = visits_for_customer(
        user, view.customer, limit=ORDERS_ON_360, paid_statuses=(InvoiceStatus.PAID,)
    )
    if user.has_perm("messaging.view_message"):
        view.messages = messages_for_customer(user, view.customer)
    view.fitted_parts = fitted_parts_by_vehicle([v.pk for v in view.vehicles]) if view.vehicles else {}
    for vehicle in view.vehicles:
        vehicle.fitted = view.fitted_parts.get(vehicle.pk, [])  # read by the 360 template
    return view
