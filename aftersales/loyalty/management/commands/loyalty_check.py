"""``aftersales loyalty_check [--repair]``: prove that every customer's points balance agrees with the ledger."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Compare Customer.points_balance with the points ledger (and the ledger's open lots); "
            "with --repair, set the balance from the ledger. Exits 1 when something disagrees (before repair).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--repair", action="store_true", help="copy the ledger's balance onto the customer")

    def handle(self, *args: Any, **options: Any) -> None:
        from aftersales.loyalty.services import ledger_check

        rows = ledger_check(repair=options["repair"])
        for row in rows:
            self.stdout.write(
                f"customer {row['customer_id']}: ledger {row['ledger']}, customer {row['customer']}, open lots {row['lots']}"
            )
        if not rows:
            self.stdout.write(self.style.SUCCESS("Every points balance agrees with the ledger."))
            return
        if options["repair"]:
            self.stdout.write(self.style.WARNING(f"{len(rows)} customer(s) repaired from the ledger."))
            return
        raise CommandError(f"{len(rows)} customer(s) disagree with the ledger; run with --repair to fix the balances.")
