"""``aftersales loyalty_sweep``: run the loyalty sweeps now (earn for paid invoices, expiry of points and vouchers)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Earn points for paid invoices that have none yet, take back points of refunds and credit notes not yet "
        "handled, expire old points (FIFO lots) and vouchers."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.loyalty.services import clawback_sweep, earn_sweep, expiry_sweep, voucher_expire_sweep

        earned = earn_sweep()
        taken_back = clawback_sweep()
        expired = expiry_sweep()
        vouchers = voucher_expire_sweep()
        self.stdout.write(
            f"invoices earned: {earned}; refunds and credit notes taken back: {taken_back}; "
            f"points lots expired: {expired}; vouchers expired: {vouchers}"
        )
