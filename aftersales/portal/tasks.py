"""Periodic work of the owner app. The task only triggers what the sweep itself finds: a lost run delays, never loses."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="aftersales.portal.shop_expiry_sweep", ignore_result=True)
def shop_expiry_sweep() -> dict[str, int]:
    """App accessories orders not paid within SHOP_ORDER_UNPAID_MINUTES expire and give their reserved stock back
    (``portal.shop.shop_orders_expire``; once per order, safe to run twice or alongside a payment)."""
    from .shop import shop_orders_expire

    return shop_orders_expire()
