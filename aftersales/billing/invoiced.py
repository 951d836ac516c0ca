"""Billing's answer to the apps below it that must know whether a repair order is invoiced (parts: a part returned
from a job is refused once invoiced; provided in ``BillingConfig.ready``, issue 19)."""

from __future__ import annotations

from .models import Invoice


def order_has_invoice(order_id: int) -> bool:
    return Invoice.objects.filter(order_id=order_id).exists()
