"""The customer's repair orders in their personal-data export (PIPL art. 45), added to the customers app's export
through its section registry (``customers.selectors.register_export_section``, in ``WorkshopConfig.ready``), so that
customers does not import workshop (issue 19)."""

from __future__ import annotations

from typing import Any

from aftersales.common.audit import plain

from .models import RepairOrder


def repair_orders_section(customer: Any) -> dict[str, Any]:
    """{"repair_orders": [...]}: each of the customer's repair orders with its store and lines."""

    def row(obj: Any, fields: list[str]) -> dict[str, Any]:
        return {f: plain(getattr(obj, f)) for f in fields}

    return {
        "repair_orders": [
            {
                **row(o, ["number", "status", "opened_at", "delivered_at", "mileage_in", "complaint", "total"]),
                "store": o.store.name,
                "lines": [
                    row(line, ["kind", "code", "description", "quantity", "unit_price", "discount", "amount"])
                    for line in o.lines.all()
                ],
            }
            for o in RepairOrder.objects.filter(customer=customer).select_related("store").prefetch_related("lines")
        ],
    }
